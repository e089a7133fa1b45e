//! Sentiment of feedback text: VADER's rules (negation, boosters, "but",
//! capitals, punctuation) with VADER's lexicon extended by crmtop's support
//! lexicon (`support_lexicon.txt`). Scores run from -1 (negative) to +1.

use std::collections::HashMap;
use std::sync::LazyLock;
use unicase::UniCase;
use vader_sentiment::SentimentIntensityAnalyzer;

static SUPPORT_LEXICON: &str = include_str!("support_lexicon.txt");

static LEXICON: LazyLock<HashMap<UniCase<&'static str>, f64>> = LazyLock::new(|| {
    let mut lex = vader_sentiment::LEXICON.clone();
    for line in SUPPORT_LEXICON.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split('\t');
        if let (Some(w), Some(v)) = (parts.next(), parts.next()) {
            if let Ok(v) = v.trim().parse::<f64>() {
                lex.insert(UniCase::new(w.trim()), v);
            }
        }
    }
    lex
});

/// Compound sentiment of a text in [-1, 1]; 0 for an empty text.
pub fn score(text: &str) -> f64 {
    if text.trim().is_empty() {
        return 0.0;
    }
    // VADER's cost grows with the text; a support message's tone is in its
    // first few thousand characters.
    let text = match text.char_indices().nth(5_000) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    let analyzer = SentimentIntensityAnalyzer::from_lexicon(&LEXICON);
    let s = analyzer
        .polarity_scores(text)
        .get("compound")
        .copied()
        .unwrap_or(0.0);
    if s.is_finite() {
        s.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// A word for a score: negative (< -0.05), positive (> 0.05) or neutral.
pub fn label(score: f64) -> &'static str {
    if score < -0.05 {
        "negative"
    } else if score > 0.05 {
        "positive"
    } else {
        "neutral"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Support texts labelled by hand, written independently of the demo
    /// generator's templates. -1 negative, 0 neutral, +1 positive.
    const LABELLED: &[(&str, i32)] = &[
        (
            "The app keeps crashing and support never answers. I want a refund!",
            -1,
        ),
        (
            "I was charged twice this month and nobody has fixed it.",
            -1,
        ),
        (
            "Cancel my subscription, this is the third outage this week.",
            -1,
        ),
        ("Still waiting for a reply after 5 days.", -1),
        ("Delivery was late again and the package was damaged.", -1),
        ("The login page doesn't work on my phone.", -1),
        (
            "I'm thinking of switching to another provider, prices went up again.",
            -1,
        ),
        ("The invoice is wrong and I have been overcharged.", -1),
        ("Your website is so slow it is unusable.", -1),
        ("I've been on hold for an hour, this is ridiculous.", -1),
        ("The export fails every time with an error.", -1),
        ("Why was my order cancelled without any notice?", -1),
        ("Terrible experience, I will not renew.", -1),
        ("The new update broke the dashboard.", -1),
        ("My parcel is lost and nobody replies to my emails.", -1),
        ("Third time asking: where is my refund?", -1),
        ("The product arrived defective.", -1),
        ("Sync is failing and I lost a day of work.", -1),
        ("I'm very disappointed with the service lately.", -1),
        ("You charged my card after I cancelled. Unacceptable.", -1),
        ("How do I change the billing address on my account?", 0),
        ("Can you tell me when the new plan becomes available?", 0),
        ("What are your opening hours on public holidays?", 0),
        ("Is there an API for exporting invoices?", 0),
        ("Please send me a copy of last month's invoice.", 0),
        ("Which payment methods do you accept?", 0),
        ("Can I move my subscription to another email address?", 0),
        ("Where can I find the user manual?", 0),
        ("Do you ship to Norway?", 0),
        ("How many users can I add on the standard plan?", 0),
        ("Thanks, the agent solved my problem in minutes!", 1),
        ("Great service, very happy with the upgrade.", 1),
        ("Works fine, no complaints.", 1),
        ("Your support team was really helpful, thank you.", 1),
        ("Delivery was quick and everything works perfectly.", 1),
        ("Love the new dashboard, it's so much easier to use.", 1),
        ("The issue was fixed quickly, much appreciated.", 1),
        ("Excellent product, I would recommend it to anyone.", 1),
        ("Smooth onboarding and friendly staff.", 1),
        ("Best customer service I've had in years.", 1),
        ("I'm happy with the price and the reliability.", 1),
        ("Thank you for the fast refund, great job.", 1),
    ];

    #[test]
    fn reads_support_language_correctly() {
        let mut right = 0;
        let mut wrong = Vec::new();
        for (text, want) in LABELLED {
            let s = score(text);
            let got = if s < -0.05 {
                -1
            } else if s > 0.05 {
                1
            } else {
                0
            };
            let ok = if *want == 0 {
                s.abs() < 0.3
            } else {
                got == *want
            };
            if ok {
                right += 1;
            } else {
                wrong.push(format!("{s:+.2} (want {want}) {text}"));
            }
        }
        let accuracy = right as f64 / LABELLED.len() as f64;
        assert!(accuracy >= 0.9, "accuracy {accuracy:.2}; wrong: {wrong:#?}");
        // The sentence that fooled plain VADER must read clearly negative.
        assert!(score(LABELLED[0].0) < -0.5);
        // And no negative text may be read as clearly positive.
        for (text, want) in LABELLED {
            if *want == -1 {
                assert!(score(text) < 0.3, "{text}");
            }
        }
    }

    #[test]
    fn degenerate_texts() {
        assert_eq!(score(""), 0.0);
        assert_eq!(score("   "), 0.0);
        let long = "bad ".repeat(20_000);
        assert!(score(&long) < 0.0);
        assert!(score("🙂🙂🙂").is_finite());
        assert!(score("!!!???").is_finite());
    }
}
