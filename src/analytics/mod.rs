//! Analytics: features, churn models, metrics, CLV, RFM, sentiment, queue priority.

pub mod campaign;
pub mod churn;
pub mod clusters;
pub mod clv;
pub mod features;
pub mod logistic;
pub mod metrics;
pub mod nba;
pub mod priority;
pub mod recommend;
pub mod rfm;
pub mod sentiment;
pub mod survival;
pub mod uplift;
pub mod workflow;
