//! The broadcaster's side: checking the orchestrator's parameters, estimating each segment's
//! fee, and signing as many tickets as the fee needs, nonces counting up from 1.
//!
//! Source: go-livepeer `pm/sender.go` (`CreateTicketBatch`, `validateTicketParams`,
//! nonce reset on new parameters), `core/accounting.go` (`Balance.StageUpdate`: credit carried
//! between segments) and `server/segment_rpc.go` (`estimateFee`); livepeer-facts.md §3.

use alloy_primitives::{Bytes, I256, U256};

use super::params::{
    check_params, estimated_fee_centiwei, estimated_pixels, tickets_needed, FeeError,
    ParamsRefusal, Payment, RenditionSpec, TicketParams, TicketSenderParams, MAX_SENDER_NONCES,
    SENDER_MAX_EV_WEI,
};
use super::recipient::to_signed;
use super::sig::{Key, SigError};

/// Why the sender could not pay.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("the broadcaster refuses the orchestrator's ticket parameters: {0}")]
    Refused(#[from] ParamsRefusal),
    #[error("cannot estimate the segment fee: {0}")]
    Fee(#[from] FeeError),
    #[error("this segment needs {needed} tickets, more than the {max} nonces one set of parameters allows; raise --ticket-ev")]
    TooManyTickets { needed: U256, max: usize },
    #[error(
        "the broadcaster has no ticket parameters from the orchestrator yet; ask for them first"
    )]
    NoParams,
    #[error("signing a ticket failed: {0}")]
    Sign(#[from] SigError),
}

/// One broadcaster session's payer.
#[derive(Debug)]
pub struct Sender {
    key: Key,
    /// The broadcaster's deposit on chain, wei (face values above it are refused).
    deposit_wei: U256,
    max_ev_wei: U256,
    /// Credit the broadcaster believes it has with the orchestrator, wei.
    credit_wei: I256,
    /// Last nonce used under `params`.
    nonce: u32,
    params: Option<TicketParams>,
}

/// What the sender decided for one segment.
#[derive(Debug, Clone)]
pub struct SegmentBill {
    pub payment: Payment,
    /// The fee estimate (1.02 × price × estimated pixels), wei, rounded up.
    pub fee_estimate_wei: U256,
}

impl Sender {
    pub fn new(key: Key, deposit_wei: U256) -> Sender {
        Sender {
            key,
            deposit_wei,
            max_ev_wei: U256::from(SENDER_MAX_EV_WEI),
            credit_wei: I256::ZERO,
            nonce: 0,
            params: None,
        }
    }

    pub fn key(&self) -> &Key {
        &self.key
    }

    pub fn credit_wei(&self) -> I256 {
        self.credit_wei
    }

    pub fn params(&self) -> Option<&TicketParams> {
        self.params.as_ref()
    }

    /// Forgets the current parameters (the next payment asks for new ones).
    pub fn clear_params(&mut self) {
        self.params = None;
    }

    /// Updates what the sender knows of its deposit.
    pub fn set_deposit_wei(&mut self, deposit_wei: U256) {
        self.deposit_wei = deposit_wei;
    }

    /// Accepts new parameters from the orchestrator after checking them; nonces restart at 1.
    pub fn update_params(
        &mut self,
        params: TicketParams,
        current_block: u64,
    ) -> Result<(), SenderError> {
        check_params(&params, current_block, self.max_ev_wei, self.deposit_wei)?;
        let same = self
            .params
            .as_ref()
            .is_some_and(|p| p.recipient_rand_hash == params.recipient_rand_hash);
        if !same {
            self.nonce = 0;
        }
        self.params = Some(params);
        Ok(())
    }

    /// Pays for one segment: estimates the fee, then signs `ceil((max(fee, EV) − credit) / EV)`
    /// tickets under the current parameters (checked again against `current_block`).
    pub fn pay_segment(
        &mut self,
        renditions: &[RenditionSpec],
        segment_seconds: f64,
        current_block: u64,
    ) -> Result<SegmentBill, SenderError> {
        let params = match &self.params {
            Some(p) => p.clone(),
            None => return Err(SenderError::NoParams),
        };
        check_params(&params, current_block, self.max_ev_wei, self.deposit_wei)?;
        let pixels = estimated_pixels(renditions, segment_seconds)?;
        let fee_centi = estimated_fee_centiwei(pixels, &params.price);
        let ev = params.ev_wei();
        let needed = tickets_needed(fee_centi, ev, self.credit_wei);
        let remaining = MAX_SENDER_NONCES.saturating_sub(self.nonce as usize);
        if needed > U256::from(remaining) {
            return Err(SenderError::TooManyTickets {
                needed,
                max: MAX_SENDER_NONCES,
            });
        }
        let count = needed.to::<u64>() as u32;
        let tickets = self.sign_batch(&params, count)?;
        self.credit_wei = self
            .credit_wei
            .saturating_add(to_signed(ev.saturating_mul(U256::from(count))));
        Ok(SegmentBill {
            payment: Payment {
                sender: self.key.address(),
                ticket_params: params.clone(),
                tickets,
                expected_price: params.price,
            },
            fee_estimate_wei: fee_centi.div_ceil(U256::from(100u64)),
        })
    }

    /// Signs `count` tickets under `params` with the next nonces.
    pub fn sign_batch(
        &mut self,
        params: &TicketParams,
        count: u32,
    ) -> Result<Vec<TicketSenderParams>, SenderError> {
        let mut out = Vec::with_capacity(count as usize);
        let template = Payment {
            sender: self.key.address(),
            ticket_params: params.clone(),
            tickets: Vec::new(),
            expected_price: params.price,
        };
        for _ in 0..count {
            self.nonce = self.nonce.saturating_add(1);
            let mut tsp = TicketSenderParams {
                sender_nonce: self.nonce,
                sig: Bytes::new(),
            };
            let hash = template.ticket(&tsp).hash();
            tsp.sig = Bytes::copy_from_slice(&self.key.sign_hash(&hash)?);
            out.push(tsp);
        }
        Ok(out)
    }

    /// Debits the real fee the orchestrator charged for the segment.
    pub fn debit(&mut self, fee_wei: U256) {
        self.credit_wei = self.credit_wei.saturating_sub(to_signed(fee_wei));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::params::{win_prob, ExpirationParams, PriceInfo};
    use alloy_primitives::{Address, B256};

    fn params(seed: u64) -> TicketParams {
        let fv = U256::from(100_000u64);
        TicketParams {
            recipient: Address::repeat_byte(9),
            face_value_wei: fv,
            win_prob: win_prob(U256::from(1_000u64), fv),
            recipient_rand_hash: B256::from(U256::from(seed)),
            seed: U256::from(seed),
            expiration_block: U256::from(140u64),
            expiration_params: ExpirationParams::default(),
            price: PriceInfo::per_pixel(U256::from(1u64)),
        }
    }

    #[test]
    fn tickets_follow_fee_and_credit_carries() {
        let mut s = Sender::new(Key::from_bytes(&[7; 32]).unwrap(), U256::from(1_000_000u64));
        s.update_params(params(1), 100).unwrap();
        let r = [RenditionSpec {
            width: 10,
            height: 10,
            fps: 10.0,
        }];
        // 10×10×10×1 s = 1000 pixels × 1 wei × 1.02 = 1020 wei → 2 tickets of EV ~1000.
        let bill = s.pay_segment(&r, 1.0, 100).unwrap();
        assert_eq!(bill.fee_estimate_wei, U256::from(1_020u64));
        assert_eq!(bill.payment.tickets.len(), 2);
        assert_eq!(
            bill.payment
                .tickets
                .iter()
                .map(|t| t.sender_nonce)
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
        // The real fee was 1000: ~1000 wei credit left, one more ticket covers the next 1020.
        s.debit(U256::from(1_000u64));
        let bill = s.pay_segment(&r, 1.0, 100).unwrap();
        assert_eq!(bill.payment.tickets.len(), 1);
        assert_eq!(bill.payment.tickets[0].sender_nonce, 3);
        // New parameters restart nonces.
        s.update_params(params(2), 100).unwrap();
        s.debit(U256::from(5_000u64));
        let bill = s.pay_segment(&r, 1.0, 100).unwrap();
        assert_eq!(bill.payment.tickets[0].sender_nonce, 1);
    }

    #[test]
    fn refuses_bad_parameters() {
        let mut s = Sender::new(Key::from_bytes(&[7; 32]).unwrap(), U256::from(99_999u64));
        assert!(matches!(
            s.update_params(params(1), 100),
            Err(SenderError::Refused(
                ParamsRefusal::FaceValueAboveDeposit { .. }
            ))
        ));
        s.set_deposit_wei(U256::from(100_000u64));
        assert!(matches!(
            s.update_params(params(1), 139),
            Err(SenderError::Refused(ParamsRefusal::Expiring { .. }))
        ));
        s.update_params(params(1), 100).unwrap();
        // The chain moved on: the same parameters are refused at payment time.
        assert!(matches!(
            s.pay_segment(&[], 1.0, 139),
            Err(SenderError::Refused(ParamsRefusal::Expiring { .. }))
        ));
        // More than 600 tickets for one segment is refused before signing anything.
        let huge = [RenditionSpec {
            width: 1000,
            height: 1000,
            fps: 1.0,
        }];
        assert!(matches!(
            s.pay_segment(&huge, 1.0, 100),
            Err(SenderError::TooManyTickets { .. })
        ));
    }
}
