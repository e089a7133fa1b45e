//! Names, products and feedback texts of the demo company. Texts vary in tone:
//! a customer heading for the exit writes more often and more angrily.

use rand::seq::SliceRandom;
use rand::Rng;

pub const FIRST: &[&str] = &[
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sofia", "Mateo", "Chloé",
    "José", "Zoë", "Łukasz", "Søren", "Ngozi", "Aiko", "Wei", "Priya", "Arjun", "Fatima", "Omar",
    "Hannah", "Jonas", "Elena", "Marco", "Ines", "Tomás", "Yara", "Kwame", "Anna", "David", "Sara",
    "Daniel", "Laura", "Pedro", "Maya", "Leo", "Nora", "Ivan", "Keiko", "Hiro", "Amara", "Felix",
    "Clara", "Ravi", "Lena", "Oscar", "Julia", "Samuel",
];

pub const LAST: &[&str] = &[
    "Smith",
    "García",
    "Müller",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Nguyen",
    "Kim",
    "Okafor",
    "Johansson",
    "Silva",
    "Novak",
    "Patel",
    "Cohen",
    "Yamamoto",
    "Hansen",
    "Brown",
    "Jones",
    "Taylor",
    "Wilson",
    "Martin",
    "Lee",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Lopez",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Perez",
    "Roberts",
    "Turner",
    "Phillips",
    "Campbell",
    "Parker",
    "Evans",
    "Edwards",
    "Collins",
    "Stewart",
    "Sánchez",
    "Morris",
    "Rogers",
    "Reed",
    "Cook",
];

/// A few names in other scripts, so screens meet wide and right-to-left text.
pub const INTERNATIONAL: &[&str] = &[
    "王芳",
    "李伟",
    "佐藤 花子",
    "김민준",
    "محمد علي",
    "דנה כהן",
    "Ωρίων Παππάς",
];

pub const REGIONS: &[(&str, f64)] = &[
    ("North", 0.22),
    ("South", 0.24),
    ("East", 0.18),
    ("West", 0.26),
    ("Central", 0.10),
];

pub const CATALOG: &[(&str, &[&str])] = &[
    (
        "Electronics",
        &[
            "USB-C cable",
            "Wireless earbuds",
            "Phone case",
            "Power bank",
            "Smart plug",
        ],
    ),
    (
        "Books",
        &[
            "Cookbook",
            "Travel guide",
            "Novel",
            "Children's book",
            "Notebook set",
        ],
    ),
    (
        "Home",
        &[
            "Coffee beans 1kg",
            "Bed linen",
            "Desk lamp",
            "Storage boxes",
            "Candles",
        ],
    ),
    (
        "Sports",
        &[
            "Yoga mat",
            "Running socks",
            "Water bottle",
            "Resistance bands",
            "Bike light",
        ],
    ),
    (
        "Beauty",
        &[
            "Shampoo",
            "Face cream",
            "Sunscreen",
            "Hand soap",
            "Lip balm",
        ],
    ),
    (
        "Grocery",
        &[
            "Tea selection",
            "Olive oil",
            "Granola",
            "Dark chocolate",
            "Spices kit",
        ],
    ),
];

pub const AGENTS: &[&str] = &["ana", "ben", "chloe", "dev", "eli"];

pub const CHANNELS: &[&str] = &["email", "chat", "phone", "web", "app"];

const ISSUES: &[&str] = &[
    "the app keeps crashing when I open my orders",
    "I was charged twice for my last order",
    "my delivery is late and the tracking page shows nothing",
    "the login page does not work on my phone",
    "the invoice amount is wrong",
    "my parcel arrived damaged",
    "the discount code was not applied at checkout",
    "the website is extremely slow at checkout",
    "I received the wrong item",
    "my subscription renewed even though I cancelled it",
    "the refund I was promised never arrived",
    "the sync between the app and my account fails",
];

const MILD: &[&str] = &[
    "Hi, {issue}. Could you look into it?",
    "Hello, it seems {issue}. Can someone help?",
    "{Issue}. Please check.",
    "Just letting you know {issue}.",
];

const STRONG: &[&str] = &[
    "{Issue} again. This is really frustrating.",
    "Second time this month: {issue}. Not acceptable.",
    "{Issue} and nobody answered my last message.",
    "I'm disappointed, {issue} and I am still waiting for a reply.",
];

const LAPSING: &[&str] = &[
    "{Issue}. I want a refund and I am cancelling my subscription.",
    "Terrible service. {Issue} and support never answers. I'm switching to a competitor.",
    "{Issue}. This is ridiculous, close my account.",
    "Third complaint and {issue}. I will not renew.",
];

const QUESTIONS: &[&str] = &[
    "How do I change the billing address on my account?",
    "Can I move my subscription to another e-mail address?",
    "Which payment methods do you accept?",
    "Is there a way to export my order history?",
    "When will the new collection be available?",
    "Do you ship to Norway?",
    "How many users can I add on my plan?",
    "Where can I download my invoices?",
    "Can I pause my subscription for a month?",
    "What is the return period for sale items?",
];

const PRAISE: &[&str] = &[
    "Thanks, the agent solved my problem in minutes!",
    "Great service, very happy with my order.",
    "Delivery was quick and everything works perfectly.",
    "Love the new app, it's so much easier to use.",
    "Excellent products, I recommend you to all my friends.",
    "Smooth checkout and friendly staff, thank you.",
];

const NPS_LOW: &[&str] = &[
    "Too expensive for what you get.",
    "Support takes too long to answer.",
    "Deliveries are often late.",
    "The app is buggy and slow.",
];

const NPS_MID: &[&str] = &[
    "It's fine.",
    "Okay overall, could be cheaper.",
    "Good products, slow delivery.",
];

const NPS_HIGH: &[&str] = &[
    "Great products and fast delivery!",
    "Very happy, I recommend you to friends.",
    "Reliable and friendly service.",
];

const NOTES: &[&str] = &[
    "Refunded the duplicate charge.",
    "Sent a replacement.",
    "Explained the steps; customer confirmed it works.",
    "Escalated to logistics, parcel located and delivered.",
    "Applied a goodwill voucher.",
    "Fixed in the latest app release; customer informed.",
];

const ANSWERS: &[&str] = &[
    "Answered by e-mail with a link to the help article.",
    "Explained the steps on chat.",
    "Answered; customer confirmed.",
];

/// Latin letters with diacritics to plain ASCII, for e-mail handles.
pub fn ascii_fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => "a".to_string(),
            'é' | 'è' | 'ê' | 'ë' => "e".to_string(),
            'í' | 'ì' | 'î' | 'ï' => "i".to_string(),
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => "o".to_string(),
            'ú' | 'ù' | 'û' | 'ü' => "u".to_string(),
            'ñ' | 'ń' => "n".to_string(),
            'ç' | 'ć' => "c".to_string(),
            'ł' => "l".to_string(),
            'ß' => "ss".to_string(),
            'ś' => "s".to_string(),
            'ż' | 'ź' => "z".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn pick<'a, R: Rng>(rng: &mut R, xs: &[&'a str]) -> &'a str {
    xs.choose(rng).copied().unwrap_or("")
}

/// A complaint; `anger` 0 (mild) .. 2 (about to leave).
pub fn complaint<R: Rng>(rng: &mut R, anger: u8) -> String {
    let issue = pick(rng, ISSUES);
    let tpl = match anger {
        0 => pick(rng, MILD),
        1 => pick(rng, STRONG),
        _ => pick(rng, LAPSING),
    };
    tpl.replace("{Issue}", &capitalise(issue))
        .replace("{issue}", issue)
}

pub fn question<R: Rng>(rng: &mut R) -> String {
    pick(rng, QUESTIONS).to_string()
}

pub fn praise<R: Rng>(rng: &mut R) -> String {
    pick(rng, PRAISE).to_string()
}

/// An NPS comment for a score (sometimes none).
pub fn nps_comment<R: Rng>(rng: &mut R, score: u8) -> Option<String> {
    if rng.gen_bool(0.35) {
        return None;
    }
    let xs = match score {
        0..=6 => NPS_LOW,
        7..=8 => NPS_MID,
        _ => NPS_HIGH,
    };
    Some(pick(rng, xs).to_string())
}

pub fn resolution_note<R: Rng>(rng: &mut R, kind: &str) -> String {
    if kind == "question" {
        pick(rng, ANSWERS).to_string()
    } else {
        pick(rng, NOTES).to_string()
    }
}
