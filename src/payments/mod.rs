//! Probabilistic micropayments, Livepeer-exact: tickets, the sender (broadcaster), the recipient
//! (orchestrator) and the durable redemption queue. The run loop uses [`PaymentRun`] and
//! [`SessionPayer`]; `rigbench redeem` uses [`redeem_pending`]; `rigbench ticket` uses [`tools`].
//!
//! Chains are reached only through [`crate::chain::Chain`].

pub mod params;
pub mod payer;
pub mod queue;
pub mod recipient;
pub mod recipient_rand;
pub mod sender;
pub mod sig;
pub mod ticket;
pub mod tools;

pub use params::{Payment, PriceInfo, RenditionSpec, TicketParams};
pub use payer::{
    redeem_pending, PaymentRun, PaymentsConfig, PaymentsError, RedeemReport, SegmentPayment,
    SessionPayer,
};
pub use queue::RetryPolicy;
pub use sig::{Key, KeyError, SigError};
pub use ticket::Ticket;

/// run.json `payments`. Wei amounts are decimal strings so no precision is lost.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PaymentsSummary {
    /// Price the orchestrator charges, wei per output pixel.
    pub price_per_pixel_wei: String,
    /// Expected value of one ticket, wei.
    pub ticket_ev_wei: String,
    /// Face value of the tickets issued, wei.
    pub face_value_wei: String,
    /// Win probability as a fraction of 2^256 - 1.
    pub win_prob: f64,
    /// Win probability as the raw uint256, decimal.
    pub win_prob_raw: String,
    /// Gas price used for ticket parameters and redemptions, wei.
    pub redeem_gas_price_wei: String,
    /// Tickets the broadcasters sent.
    pub tickets_sent: u64,
    /// Tickets the orchestrator accepted (each credited one EV).
    pub tickets_valid: u64,
    /// Rejected tickets by reason: bad_sig_length, bad_sig_v, high_s, bad_sig_scalar,
    /// bad_signature (nothing recovers), wrong_signer, wrong_recipient, wrong_sender,
    /// wrong_price, wrong_recipient_rand, expired, no_sender_funds, sender_unlocked,
    /// insufficient_sender_reserve, replayed_nonce, too_many_nonces, after_failed_ticket (a
    /// ticket after the payment's first failing one: not credited, as go-livepeer does).
    pub tickets_rejected: std::collections::BTreeMap<String, u64>,
    /// Valid tickets that won (calibration tickets excluded).
    pub winning_tickets: u64,
    /// This run's winners redeemed on chain.
    pub redeemed: u64,
    /// Redemptions mined but reverted (reasons in the data dir's ticket files); includes
    /// earlier runs' winners retried at start.
    pub redeem_failed: u64,
    /// Winners persisted in the data dir and not redeemed yet when the run ended (this run's
    /// and any earlier run's; e.g. the chain was unreachable); `rigbench redeem` retries.
    pub pending: u64,
    /// Redemptions of win-probability-1 calibration tickets, made only to measure gas.
    pub calibration_redemptions: u64,
    /// Gas used by all redemptions, calibration included.
    pub gas_used_total: u64,
    /// Measured gas per successful redemption (mean, calibration included); None when nothing
    /// could be redeemed.
    pub gas_per_redemption: Option<u64>,
    /// price × output pixels, summed over segments, wei.
    pub fees_debited_wei: String,
    /// Face value of real (non-calibration) winners redeemed, wei.
    pub face_value_redeemed_wei: String,
    pub chain: ChainSummary,
    /// Winners left pending by earlier runs in the same data dir and redeemed at this run's
    /// start (their gas is in `gas_used_total`, their face value in `face_value_redeemed_wei`).
    #[serde(default)]
    pub earlier_runs_redeemed: u64,
    /// Wall time the session threads spent paying (fee estimate, signing, serialising,
    /// validating, persisting winners, debiting), summed over sessions, seconds. Compare with
    /// the run's CPU time: Livepeer's payments should cost well under 1% of it. Redemption runs
    /// on its own thread and is not included.
    #[serde(default)]
    pub payment_work_seconds: f64,
    /// Why calibration tickets were not redeemed when the run drew no winner (chain
    /// unreachable, or the error); None when they were, or were not needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration_note: Option<String>,
}

/// Which chain redeemed the winners.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ChainSummary {
    /// "embedded" or "rpc".
    pub kind: String,
    pub chain_id: u64,
    /// TicketBroker address, 0x-hex.
    pub broker: String,
}
