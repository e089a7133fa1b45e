//! Analytics: features, churn models, metrics, CLV, RFM, sentiment, queue priority.

pub mod churn;
pub mod features;
pub mod logistic;
pub mod metrics;
pub mod priority;
pub mod sentiment;
pub mod workflow;
