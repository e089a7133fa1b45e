//! Column names of each import kind, and the parsers of cell values.
//! Every parser returns a reason on failure and never panics.

use crate::ingest::Kind;

/// A known column of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Id,
    CustomerId,
    Name,
    Email,
    Phone,
    SignupDate,
    CancelledAt,
    BirthDate,
    Age,
    Income,
    Region,
    Plan,
    Segment,
    Churned,
    Timestamp,
    Amount,
    Quantity,
    Product,
    Category,
    Channel,
    FeedbackKind,
    Score,
    Text,
    Status,
    Assignee,
    EventKind,
    Value,
}

impl Field {
    /// The documented (canonical) column name.
    pub fn name(self, kind: Kind) -> &'static str {
        match (self, kind) {
            (Field::Id, Kind::Customers) => "id",
            (Field::Id, _) => "id",
            (Field::CustomerId, _) => "customer_id",
            (Field::Name, _) => "name",
            (Field::Email, _) => "email",
            (Field::Phone, _) => "phone",
            (Field::SignupDate, _) => "signup_date",
            (Field::CancelledAt, _) => "cancelled_at",
            (Field::BirthDate, _) => "birth_date",
            (Field::Age, _) => "age",
            (Field::Income, _) => "income",
            (Field::Region, _) => "region",
            (Field::Plan, _) => "plan",
            (Field::Segment, _) => "segment",
            (Field::Churned, _) => "churned",
            (Field::Timestamp, Kind::Orders) => "timestamp",
            (Field::Timestamp, Kind::Events) => "occurred_at",
            (Field::Timestamp, _) => "created_at",
            (Field::Amount, _) => "amount",
            (Field::Quantity, _) => "quantity",
            (Field::Product, _) => "product",
            (Field::Category, _) => "category",
            (Field::Channel, _) => "channel",
            (Field::FeedbackKind, _) => "kind",
            (Field::Score, _) => "score",
            (Field::Text, _) => "text",
            (Field::Status, _) => "status",
            (Field::Assignee, _) => "assignee",
            (Field::EventKind, _) => "kind",
            (Field::Value, _) => "value",
        }
    }
}

/// Accepted column names (after normalisation: lower case, spaces and dashes
/// as underscores) for each kind; the first of each list is the documented one.
pub fn aliases(kind: Kind) -> &'static [(Field, &'static [&'static str])] {
    match kind {
        Kind::Customers => &[
            (Field::Id, &["id", "customer_id", "customerid", "customer"]),
            (Field::Name, &["name", "full_name", "customer_name"]),
            (Field::Email, &["email", "e_mail", "email_address"]),
            (Field::Phone, &["phone", "phone_number", "telephone"]),
            (
                Field::SignupDate,
                &["signup_date", "signup", "signed_up", "joined", "created_at"],
            ),
            (
                Field::CancelledAt,
                &[
                    "cancelled_at",
                    "canceled_at",
                    "cancelled",
                    "cancellation_date",
                    "cancel_date",
                ],
            ),
            (
                Field::BirthDate,
                &["birth_date", "birthdate", "date_of_birth", "dob"],
            ),
            (Field::Age, &["age"]),
            (Field::Income, &["income", "annual_income"]),
            (Field::Region, &["region"]),
            (Field::Plan, &["plan"]),
            (Field::Segment, &["segment"]),
            (Field::Churned, &["churned", "churn"]),
        ],
        Kind::Orders => &[
            (Field::Id, &["id", "order_id", "orderid"]),
            (
                Field::CustomerId,
                &["customer_id", "customerid", "customer"],
            ),
            (
                Field::Timestamp,
                &[
                    "timestamp",
                    "date",
                    "ordered_at",
                    "order_date",
                    "created_at",
                    "ts",
                ],
            ),
            (Field::Amount, &["amount", "total", "value"]),
            (Field::Quantity, &["quantity", "qty"]),
            (Field::Product, &["product", "sku", "product_id"]),
            (Field::Category, &["category"]),
        ],
        Kind::Feedback => &[
            (Field::Id, &["id", "feedback_id", "ticket_id"]),
            (
                Field::CustomerId,
                &["customer_id", "customerid", "customer"],
            ),
            (Field::Timestamp, &["created_at", "timestamp", "date", "ts"]),
            (Field::Channel, &["channel", "source"]),
            (Field::FeedbackKind, &["kind", "type"]),
            (Field::Score, &["score", "rating"]),
            (Field::Text, &["text", "body", "comment", "message"]),
            (Field::Status, &["status"]),
            (Field::Assignee, &["assignee", "assigned_to"]),
        ],
        Kind::Events => &[
            (Field::Id, &["id", "event_id"]),
            (
                Field::CustomerId,
                &["customer_id", "customerid", "customer"],
            ),
            (
                Field::Timestamp,
                &["occurred_at", "timestamp", "date", "ts"],
            ),
            (Field::EventKind, &["kind", "type", "event"]),
            (Field::Value, &["value", "count"]),
        ],
    }
}

/// Columns a file of this kind must have.
pub fn required(kind: Kind) -> &'static [Field] {
    match kind {
        Kind::Customers => &[Field::Id],
        Kind::Orders => &[Field::CustomerId, Field::Timestamp, Field::Amount],
        Kind::Feedback => &[Field::CustomerId, Field::Timestamp, Field::FeedbackKind],
        Kind::Events => &[Field::CustomerId, Field::Timestamp, Field::EventKind],
    }
}

/// Lower case, trimmed, spaces and dashes as underscores, BOM removed.
pub fn normalise_header(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .trim()
        .to_lowercase()
        .replace([' ', '-'], "_")
}

/// Longest identifier we accept.
pub const MAX_ID_LEN: usize = 256;
/// Longest short text (name, email, region, product...).
pub const MAX_SHORT_LEN: usize = 1_000;
/// Longest free text (feedback text).
pub const MAX_TEXT_LEN: usize = 100_000;
/// Largest absolute amount or income we accept.
pub const MAX_AMOUNT: f64 = 1e12;

/// Parse a decimal amount: finite, |x| <= 1e12.
pub fn parse_amount(s: &str) -> Result<f64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty".into());
    }
    let v: f64 = t
        .parse()
        .map_err(|_| format!("'{}' is not a decimal number", clip(t)))?;
    if !v.is_finite() {
        return Err(format!("'{}' is not a finite number", clip(t)));
    }
    if v.abs() > MAX_AMOUNT {
        return Err(format!(
            "{} is out of range (limit {MAX_AMOUNT:e})",
            clip(t)
        ));
    }
    Ok(v)
}

/// Parse a non-negative integer quantity.
pub fn parse_quantity(s: &str) -> Result<i64, String> {
    let t = s.trim();
    match t.parse::<i64>() {
        Ok(q) if q < 0 => Err(format!("negative quantity {q}")),
        Ok(q) if q > 1_000_000_000 => Err(format!("quantity {q} is out of range")),
        Ok(q) => Ok(q),
        Err(_) => Err(format!("'{}' is not a whole number", clip(t))),
    }
}

/// Parse an age in years (0..=130).
pub fn parse_age(s: &str) -> Result<i64, String> {
    let t = s.trim();
    match t.parse::<i64>() {
        Ok(a) if (0..=130).contains(&a) => Ok(a),
        Ok(a) => Err(format!("age {a} is outside 0..130")),
        Err(_) => Err(format!("'{}' is not a whole number of years", clip(t))),
    }
}

/// Parse a churn label: 1/0, true/false, yes/no (any case).
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "t" => Ok(true),
        "0" | "false" | "no" | "n" | "f" => Ok(false),
        other => Err(format!(
            "'{}' is not one of 1/0, true/false, yes/no",
            clip(other)
        )),
    }
}

/// Check a text against a length limit (in characters).
pub fn check_len(s: &str, max: usize) -> Result<(), String> {
    let n = s.chars().count();
    if n > max {
        Err(format!("{n} characters, longer than the limit of {max}"))
    } else {
        Ok(())
    }
}

/// A short, printable excerpt of a value for an error message.
pub fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount(" 12.50 "), Ok(12.5));
        assert_eq!(parse_amount("-3"), Ok(-3.0));
        assert!(parse_amount("").is_err());
        assert!(parse_amount("1,5").is_err());
        assert!(parse_amount("NaN").is_err());
        assert!(parse_amount("inf").is_err());
        assert!(parse_amount("1e300").is_err());
    }

    #[test]
    fn quantities_and_labels() {
        assert_eq!(parse_quantity("3"), Ok(3));
        assert!(parse_quantity("-1").unwrap_err().contains("negative"));
        assert!(parse_quantity("1.5").is_err());
        assert_eq!(parse_bool("Yes"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("maybe").is_err());
    }

    #[test]
    fn headers_normalise() {
        assert_eq!(normalise_header("\u{feff}Customer ID"), "customer_id");
        assert_eq!(normalise_header(" e-mail "), "e_mail");
    }
}
