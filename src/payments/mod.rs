//! Probabilistic micropayments, Livepeer-exact: tickets, the sender (broadcaster), the recipient
//! (orchestrator) and the durable redemption queue.

// PLACEHOLDER (payments helper replaces).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PaymentsSummary {}
