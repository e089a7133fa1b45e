//! Analytics: features, churn models, metrics, CLV, RFM, sentiment, queue priority.

pub mod priority;
pub mod sentiment;
pub mod workflow;
