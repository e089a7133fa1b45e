//! Each kind's row from a record: which fields it needs, what each may
//! hold, and the workflow rules of an imported feedback status.

use super::*;

impl Parser {
    pub(super) fn customer(&mut self, rec: &csv::ByteRecord) -> R<CustomerRow> {
        let id = self.id(rec, Field::Id)?;
        let name = self.short(rec, Field::Name)?;
        let email = self.short(rec, Field::Email)?;
        if let Some(e) = &email {
            if !e.contains('@') || e.chars().any(char::is_whitespace) {
                return Err(Reject::new(
                    "email",
                    format!("'{}' is not an e-mail address", fields::clip(e)),
                ));
            }
        }
        let phone = self.short(rec, Field::Phone)?;
        let signup = self
            .timestamp(rec, Field::SignupDate)?
            .map(timeutil::ts_to_day_string);
        let cancelled = self
            .timestamp(rec, Field::CancelledAt)?
            .map(timeutil::ts_to_day_string);
        if let (Some(s), Some(c)) = (&signup, &cancelled) {
            // Both are YYYY-MM-DD: text order is date order.
            if c < s {
                return Err(Reject::new(
                    "cancelled_at",
                    format!("cancelled on {c}, before the signup date {s}"),
                ));
            }
        }
        let birth = self
            .timestamp(rec, Field::BirthDate)?
            .map(timeutil::ts_to_day_string);
        let age = self.parsed(rec, Field::Age, fields::parse_age)?;
        let income = self.parsed(rec, Field::Income, |s| {
            let v = fields::parse_amount(s)?;
            if v < 0.0 {
                Err(format!("negative income {v}"))
            } else {
                Ok(v)
            }
        })?;
        let region = self.short(rec, Field::Region)?;
        let plan = self.short(rec, Field::Plan)?;
        let segment = self.short(rec, Field::Segment)?;
        let churned = self
            .parsed(rec, Field::Churned, fields::parse_bool)?
            .map(i64::from);
        let mut attributes = Vec::with_capacity(self.attributes.len());
        for (k, (i, name)) in self.attributes.iter().enumerate() {
            if let Some(v) = cell(rec, *i, name)? {
                fields::check_len(v, MAX_SHORT_LEN).map_err(|e| Reject::new(name, e))?;
                let k = k as u16;
                match number_of(v) {
                    Some(x) => attributes.push((k, Some(x), None)),
                    None => attributes.push((k, None, Some(v.to_string()))),
                }
            }
        }
        Ok(CustomerRow {
            id,
            name,
            email,
            phone,
            signup,
            cancelled,
            birth,
            age,
            income,
            region,
            plan,
            segment,
            churned,
            attributes,
            attr_names: std::sync::Arc::clone(&self.attr_names),
        })
    }

    pub(super) fn order(&mut self, rec: &csv::ByteRecord) -> R<OrderRow> {
        let customer = self.id(rec, Field::CustomerId)?;
        let ts = self.required_timestamp(rec, Field::Timestamp)?;
        let amount = self
            .parsed(rec, Field::Amount, fields::parse_amount)?
            .ok_or_else(|| Reject::new("amount", "missing (required)"))?;
        let given = self.parsed(rec, Field::Quantity, fields::parse_quantity)?;
        let quantity = given.unwrap_or(1);
        let product = self.short(rec, Field::Product)?;
        let category = self.short(rec, Field::Category)?;
        let key = self.row_key(
            rec,
            &[
                customer.as_bytes(),
                &ts.to_le_bytes(),
                &amount.to_bits().to_le_bytes(),
                &quantity.to_le_bytes(),
                product.as_deref().unwrap_or("").as_bytes(),
                category.as_deref().unwrap_or("").as_bytes(),
            ],
        )?;
        Ok(OrderRow {
            cid: 0,
            new_customer: false,
            key,
            customer,
            ts,
            amount,
            quantity,
            quantity_given: given.is_some(),
            product,
            category,
        })
    }

    pub(super) fn feedback(&mut self, rec: &csv::ByteRecord) -> R<FeedbackRow> {
        let customer = self.id(rec, Field::CustomerId)?;
        let created = self.required_timestamp(rec, Field::Timestamp)?;
        let channel = self.short(rec, Field::Channel)?.map(|c| c.to_lowercase());
        let kind_raw = self.required(rec, Field::FeedbackKind)?;
        let kind = normalise_feedback_kind(kind_raw).ok_or_else(|| {
            Reject::new(
                "kind",
                format!(
                    "'{}' is not one of complaint, question, praise, nps, csat, other",
                    fields::clip(kind_raw)
                ),
            )
        })?;
        let score = self.parsed(rec, Field::Score, |s| {
            let v = fields::parse_amount(s)?;
            let (lo, hi) = match kind {
                "csat" => (1.0, 5.0),
                _ => (0.0, 10.0),
            };
            if v < lo || v > hi {
                Err(format!("{v} is outside {lo}..{hi} for kind {kind}"))
            } else {
                Ok(v)
            }
        })?;
        let text = self.text(rec, Field::Text)?;
        if let Some(t) = text {
            fields::check_len(t, MAX_TEXT_LEN).map_err(|e| Reject::new("text", e))?;
        }
        let status = match self.text(rec, Field::Status)? {
            None => "new",
            Some(s) => Status::parse(s)
                .ok_or_else(|| {
                    Reject::new(
                        "status",
                        format!(
                            "'{}' is not one of new, open, pending, escalated, resolved, closed",
                            fields::clip(s)
                        ),
                    )
                })?
                .as_str(),
        };
        let assignee = self.short(rec, Field::Assignee)?;
        // The same rule as any agent's name: an escape code, a tab or only a
        // zero-width space would hold an item for an agent nobody can see.
        if let Some(a) = &assignee {
            crate::agent::validate(a).map_err(|e| Reject::new("assignee", e))?;
        }
        // A new item with an agent is an assigned one: open, as `assign`
        // makes it (new means nobody holds it: left new, another agent's
        // claim took it from the named one without a word).
        let status = if status == "new" && assignee.is_some() {
            "open"
        } else {
            status
        };
        let id = if self.has_id {
            self.id(rec, Field::Id)?
        } else {
            let k = self.row_key(
                rec,
                &[
                    customer.as_bytes(),
                    &created.to_le_bytes(),
                    channel.as_deref().unwrap_or("").as_bytes(),
                    kind.as_bytes(),
                    &score.unwrap_or(f64::NAN).to_bits().to_le_bytes(),
                    text.unwrap_or("").as_bytes(),
                ],
            )?;
            // "~<32 hex>[.n]" -> an id people can type: "fb-<12 hex>[.n]"
            format!("fb-{}{}", &k[1..13], k.get(33..).unwrap_or(""))
        };
        let sentiment = text.map(|t| match self.sentiment_memo.get(t) {
            Some(s) => *s,
            None => {
                let s = sentiment::score(t);
                if self.sentiment_memo.len() < 100_000 {
                    self.sentiment_memo.insert(t.to_string(), s);
                }
                s
            }
        });
        Ok(FeedbackRow {
            cid: 0,
            new_customer: false,
            id,
            customer,
            created,
            channel,
            kind,
            score,
            text: text.map(str::to_string),
            sentiment,
            status,
            assignee,
        })
    }

    pub(super) fn event(&mut self, rec: &csv::ByteRecord) -> R<EventRow> {
        let customer = self.id(rec, Field::CustomerId)?;
        let ts = self.required_timestamp(rec, Field::Timestamp)?;
        let kind_raw = self.required(rec, Field::EventKind)?;
        fields::check_len(kind_raw, 64).map_err(|e| Reject::new("kind", e))?;
        let kind = normalise_event_kind(kind_raw);
        let given = self.parsed(rec, Field::Value, fields::parse_amount)?;
        let value = given.unwrap_or(1.0);
        let key = self.row_key(
            rec,
            &[
                customer.as_bytes(),
                &ts.to_le_bytes(),
                kind.as_bytes(),
                &value.to_bits().to_le_bytes(),
            ],
        )?;
        Ok(EventRow {
            cid: 0,
            new_customer: false,
            key,
            customer,
            ts,
            kind,
            value,
            value_given: given.is_some(),
        })
    }
}
