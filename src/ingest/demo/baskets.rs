//! Co-purchases: products bought together. After the world is simulated,
//! each order brings a complement of its product along on the same day
//! with probability 0.3 (a cable with a power bank, spices with a
//! cookbook), so baskets have the structure association rules and
//! recommendations should find. Its own random stream: the rest of the
//! world is unchanged.

use super::world::{Customer, Order};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// (product, complement, the complement's category).
const COMPLEMENTS: &[(&str, &str, &str)] = &[
    ("Power bank", "USB-C cable", "Electronics"),
    ("Phone case", "USB-C cable", "Electronics"),
    ("Wireless earbuds", "Phone case", "Electronics"),
    ("USB-C cable", "Power bank", "Electronics"),
    ("Cookbook", "Spices kit", "Grocery"),
    ("Cookbook", "Olive oil", "Grocery"),
    ("Travel guide", "Sunscreen", "Beauty"),
    ("Novel", "Tea selection", "Grocery"),
    ("Children's book", "Notebook set", "Books"),
    ("Coffee beans 1kg", "Dark chocolate", "Grocery"),
    ("Desk lamp", "Notebook set", "Books"),
    ("Bed linen", "Candles", "Home"),
    ("Yoga mat", "Resistance bands", "Sports"),
    ("Running socks", "Water bottle", "Sports"),
    ("Bike light", "Water bottle", "Sports"),
    ("Shampoo", "Hand soap", "Beauty"),
    ("Face cream", "Lip balm", "Beauty"),
    ("Sunscreen", "Lip balm", "Beauty"),
    ("Tea selection", "Dark chocolate", "Grocery"),
    ("Granola", "Coffee beans 1kg", "Home"),
];

pub fn add_complements(c: &mut Customer, rng: &mut ChaCha8Rng) {
    let mut extra = Vec::new();
    for o in &c.orders {
        let (pick, share) = (rng.gen::<f64>(), rng.gen_range(0.2..0.4));
        let options: Vec<&(&str, &str, &str)> = COMPLEMENTS
            .iter()
            .filter(|(p, _, _)| *p == o.product)
            .collect();
        if options.is_empty() || pick >= 0.3 {
            continue;
        }
        let (_, product, category) =
            options[(pick / 0.3 * options.len() as f64) as usize % options.len()];
        extra.push(Order {
            ts: o.ts,
            amount: ((o.amount * share).max(2.0) * 100.0).round() / 100.0,
            quantity: 1,
            product,
            category,
        });
    }
    if !extra.is_empty() {
        c.orders.extend(extra);
        c.orders.sort_by_key(|o| o.ts);
    }
}
