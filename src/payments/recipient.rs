//! The orchestrator's side: issuing ticket parameters, validating every ticket of a payment,
//! counting rejections by reason, keeping each session's balance, and picking out winners.
//!
//! Source: go-livepeer `pm/recipient.go` (`TicketParams`, `ReceiveTicket`, nonce bookkeeping,
//! `maxSenderNonces = 600`), `pm/validator.go` (`ValidateTicket`), `pm/sendermonitor.go`
//! (`MaxFloat`, [`super::params::max_float_wei`]), `core/orchestrator.go` (`ProcessPayment`:
//! after the first failing ticket the rest of the payment is not credited and the payment
//! fails; winners are kept whatever else failed) and `core/accounting.go` (`Balances`);
//! livepeer-facts.md §3.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use alloy_primitives::{Address, B256, I256, U256};

use super::params::{
    face_value_wei, max_float_wei, win_prob, ExpirationParams, ParamsError, Payment, PriceInfo,
    TicketParams, MAX_SENDER_NONCES, PARAMS_EXPIRY_BLOCKS,
};
use super::recipient_rand::{recipient_rand, recipient_rand_hash, RandInputs};
use super::sig::{KeyError, KnownSigner};
use super::ticket::{wins, Ticket};
use crate::chain::{RoundInfo, SenderFunds};

/// The orchestrator's fixed settings for a run.
#[derive(Debug, Clone)]
pub struct RecipientConfig {
    /// Ticket expected value the orchestrator asks for, wei.
    pub ticket_ev_wei: U256,
    /// Gas price used to size face values, wei.
    pub redeem_gas_price_wei: U256,
    /// Redemption gas used to size face values (an estimate; measured gas is separate).
    pub redeem_gas_estimate: u64,
    /// Upper bound on face values, wei.
    pub max_face_value_wei: Option<U256>,
    /// The price per pixel, fixed for the run.
    pub price: PriceInfo,
}

/// What the chain says about a sender, as the recipient sees it when validating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderView {
    pub funds: SenderFunds,
    /// How many orchestrators share the reserve.
    pub active_set_size: U256,
    /// What all recipients claimed from the sender's reserve in the current round (it counts
    /// toward the round's share); rigbench's chains do not report it yet, so 0 there.
    pub claimed_this_round_wei: U256,
    /// What this recipient claimed from the reserve in the current round.
    pub claimed_by_recipient_wei: U256,
}

impl SenderView {
    /// reserve / activeSetSize: what one orchestrator may claim from the reserve per round.
    pub fn reserve_share_wei(&self) -> U256 {
        let divisor = if self.active_set_size.is_zero() {
            U256::from(1u64)
        } else {
            self.active_set_size
        };
        self.funds.reserve / divisor
    }
}

/// A ticket that validated and won: it must be persisted before the payment is acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Winner {
    pub ticket: Ticket,
    pub sig: Vec<u8>,
    pub recipient_rand: U256,
}

/// The recipient's verdict on one payment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentVerdict {
    pub valid: u32,
    /// Rejected tickets by snake_case reason.
    pub rejected: BTreeMap<&'static str, u32>,
    pub winners: Vec<Winner>,
    /// EV credited to the session for the valid tickets, wei.
    pub credited_wei: U256,
    /// The session's balance after crediting, wei (may be negative after an underpaid segment).
    pub balance_wei: I256,
    /// The reason of the payment's first failing ticket: the payment failed, and no ticket
    /// after it was credited (go-livepeer `ProcessPayment`). None when every ticket passed.
    pub failed: Option<&'static str>,
}

/// Why the recipient could not act on a request (as opposed to rejecting a ticket).
#[derive(Debug, thiserror::Error)]
pub enum RecipientError {
    #[error(transparent)]
    Params(#[from] ParamsError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("session {0} is not registered with the orchestrator")]
    UnknownSession(u32),
    #[error("the orchestrator's state lock was poisoned by a panicking thread")]
    Poisoned,
}

#[derive(Debug, Default)]
struct SessionState {
    sender: Address,
    balance_wei: I256,
}

/// Nonces seen under one recipientRandHash, kept until its parameters expire (after that every
/// ticket under them is rejected as expired, so the set is no longer needed).
#[derive(Debug, Default)]
struct SeenNonces {
    expiration_block: U256,
    nonces: HashSet<u32>,
}

/// Forget the nonces of expired parameters once this many sets are held.
const NONCE_SETS_BEFORE_PRUNING: usize = 1024;

#[derive(Debug, Default)]
struct State {
    /// Nonces seen per recipientRandHash.
    nonces: HashMap<B256, SeenNonces>,
    sessions: HashMap<u32, SessionState>,
    /// Face value of winners not yet redeemed, per sender (go-livepeer's `pendingAmount`).
    pending_wei: HashMap<Address, U256>,
    /// Hashes of winners already handed out, so a replayed winner is not queued twice.
    winners_seen: HashSet<B256>,
}

/// The orchestrator. `Sync`: sessions validate concurrently; signature recovery runs outside
/// the lock, only the nonce and balance bookkeeping inside it.
#[derive(Debug)]
pub struct Recipient {
    address: Address,
    secret: [u8; 32],
    cfg: RecipientConfig,
    state: Mutex<State>,
    /// Senders' public keys, learnt from their first valid ticket.
    signers: Mutex<HashMap<Address, Arc<KnownSigner>>>,
}

/// Reasons a ticket is rejected (the keys of `tickets_rejected`), besides the signature ones
/// from [`super::sig::SigError::reason`].
pub mod reason {
    pub const WRONG_RECIPIENT: &str = "wrong_recipient";
    pub const WRONG_SENDER: &str = "wrong_sender";
    pub const WRONG_RECIPIENT_RAND: &str = "wrong_recipient_rand";
    pub const EXPIRED: &str = "expired";
    pub const REPLAYED_NONCE: &str = "replayed_nonce";
    pub const TOO_MANY_NONCES: &str = "too_many_nonces";
    pub const NO_SENDER_FUNDS: &str = "no_sender_funds";
    pub const INSUFFICIENT_SENDER_RESERVE: &str = "insufficient_sender_reserve";
    pub const WRONG_PRICE: &str = "wrong_price";
    pub const SENDER_UNLOCKED: &str = "sender_unlocked";
    /// A ticket after the payment's first failing ticket: not credited (go-livepeer).
    pub const AFTER_FAILED_TICKET: &str = "after_failed_ticket";
}

impl Recipient {
    /// An orchestrator with address `address` and a fresh random HMAC secret.
    pub fn new(address: Address, cfg: RecipientConfig) -> Result<Recipient, RecipientError> {
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Recipient::with_secret(address, secret, cfg))
    }

    /// An orchestrator with a given HMAC secret (tests, or a restart that must recognise its
    /// earlier parameters).
    pub fn with_secret(address: Address, secret: [u8; 32], cfg: RecipientConfig) -> Recipient {
        Recipient {
            address,
            secret,
            cfg,
            state: Mutex::new(State::default()),
            signers: Mutex::new(HashMap::new()),
        }
    }

    pub fn address(&self) -> Address {
        self.address
    }

    pub fn config(&self) -> &RecipientConfig {
        &self.cfg
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, RecipientError> {
        self.state.lock().map_err(|_| RecipientError::Poisoned)
    }

    fn known_signer(&self, sender: Address) -> Result<Option<Arc<KnownSigner>>, RecipientError> {
        let signers = self.signers.lock().map_err(|_| RecipientError::Poisoned)?;
        Ok(signers.get(&sender).cloned())
    }

    fn remember_signer(&self, signer: KnownSigner) -> Arc<KnownSigner> {
        let signer = Arc::new(signer);
        if let Ok(mut signers) = self.signers.lock() {
            signers.insert(signer.address(), Arc::clone(&signer));
        }
        signer
    }

    /// Registers a session and the sender that pays for it; its balance starts at zero.
    pub fn register_session(&self, session: u32, sender: Address) -> Result<(), RecipientError> {
        self.lock()?.sessions.insert(
            session,
            SessionState {
                sender,
                balance_wei: I256::ZERO,
            },
        );
        Ok(())
    }

    /// What `sender` may still be paid from its reserve: go-livepeer's max float
    /// ([`max_float_wei`]) with this recipient's winners pending redemption.
    pub fn max_float_wei(
        &self,
        sender: Address,
        view: &SenderView,
    ) -> Result<U256, RecipientError> {
        let pending = self
            .lock()?
            .pending_wei
            .get(&sender)
            .copied()
            .unwrap_or_default();
        Ok(view_float(view, pending))
    }

    /// Fresh parameters for `sender` at `current_block` in `round`.
    pub fn ticket_params(
        &self,
        sender: Address,
        current_block: u64,
        round: &RoundInfo,
        view: &SenderView,
    ) -> Result<TicketParams, RecipientError> {
        let face_value = self.face_value_for(sender, view)?;
        let wp = win_prob(self.cfg.ticket_ev_wei, face_value);
        self.params_with(sender, current_block, round, face_value, wp)
    }

    /// Parameters whose tickets always win (win probability 2^256 − 1), used only to measure
    /// redemption gas when a run drew no winner.
    pub fn calibration_params(
        &self,
        sender: Address,
        current_block: u64,
        round: &RoundInfo,
        view: &SenderView,
    ) -> Result<TicketParams, RecipientError> {
        let face_value = self.face_value_for(sender, view)?;
        self.params_with(sender, current_block, round, face_value, U256::MAX)
    }

    /// go-livepeer's face value for `sender`: 100 × the redemption's cost, at least 100 × EV,
    /// capped by what the sender's reserve allows and the configured maximum.
    fn face_value_for(&self, sender: Address, view: &SenderView) -> Result<U256, RecipientError> {
        let max_float = self.max_float_wei(sender, view)?;
        Ok(face_value_wei(
            self.cfg.redeem_gas_estimate,
            self.cfg.redeem_gas_price_wei,
            self.cfg.ticket_ev_wei,
            max_float,
            self.cfg.max_face_value_wei,
        )?)
    }

    fn params_with(
        &self,
        sender: Address,
        current_block: u64,
        round: &RoundInfo,
        face_value: U256,
        wp: U256,
    ) -> Result<TicketParams, RecipientError> {
        let mut seed_bytes = [0u8; 32];
        getrandom::getrandom(&mut seed_bytes).map_err(|e| KeyError::Random(e.to_string()))?;
        let seed = U256::from_be_bytes(seed_bytes);
        let expiration_block =
            U256::from(current_block).saturating_add(U256::from(PARAMS_EXPIRY_BLOCKS));
        let expiration_params = ExpirationParams {
            creation_round: round.round,
            creation_round_block_hash: round.block_hash,
        };
        let mut params = TicketParams {
            recipient: self.address,
            face_value_wei: face_value,
            win_prob: wp,
            recipient_rand_hash: B256::ZERO,
            seed,
            expiration_block,
            expiration_params,
            price: self.cfg.price,
        };
        let rand = self.rand_for(sender, &params);
        params.recipient_rand_hash = recipient_rand_hash(rand);
        Ok(params)
    }

    /// recipientRand for parameters given to `sender` (derived, never stored).
    pub fn rand_for(&self, sender: Address, params: &TicketParams) -> U256 {
        let (price_num, price_denom) = params.price.reduced();
        let aux = Ticket {
            recipient: params.recipient,
            sender,
            face_value_wei: params.face_value_wei,
            win_prob: params.win_prob,
            sender_nonce: 0,
            recipient_rand_hash: params.recipient_rand_hash,
            creation_round: params.expiration_params.creation_round,
            creation_round_block_hash: params.expiration_params.creation_round_block_hash,
        }
        .aux_data();
        recipient_rand(
            &self.secret,
            &RandInputs {
                seed: params.seed,
                sender,
                face_value_wei: params.face_value_wei,
                win_prob: params.win_prob,
                expiration_block: params.expiration_block,
                price_num,
                price_denom,
                aux_data: &aux,
            },
        )
    }

    /// Validates every ticket of `payment` for `session` at `current_block`, credits the
    /// session with EV per valid ticket and returns the winners (not yet persisted).
    pub fn receive_payment(
        &self,
        session: u32,
        payment: &Payment,
        current_block: u64,
        view: &SenderView,
    ) -> Result<PaymentVerdict, RecipientError> {
        let expected_sender = self
            .lock()?
            .sessions
            .get(&session)
            .map(|s| s.sender)
            .ok_or(RecipientError::UnknownSession(session))?;
        let mut verdict = PaymentVerdict::default();
        let params = &payment.ticket_params;
        let reject = |verdict: &mut PaymentVerdict, reason: &'static str, n: u32| {
            *verdict.rejected.entry(reason).or_insert(0) += n;
        };
        let count = u32::try_from(payment.tickets.len()).unwrap_or(u32::MAX);

        // Checks that apply to the whole payment (every ticket shares its parameters).
        let payment_reason = if params.recipient != self.address {
            Some(reason::WRONG_RECIPIENT)
        } else if payment.sender != expected_sender {
            Some(reason::WRONG_SENDER)
        } else if payment.expected_price.reduced() != self.cfg.price.reduced()
            || params.price.reduced() != self.cfg.price.reduced()
        {
            Some(reason::WRONG_PRICE)
        } else {
            None
        };
        let rand = self.rand_for(payment.sender, params);
        let payment_reason = payment_reason.or_else(|| {
            if recipient_rand_hash(rand) != params.recipient_rand_hash {
                Some(reason::WRONG_RECIPIENT_RAND)
            } else if view.funds.deposit.is_zero() && view.funds.reserve.is_zero() {
                Some(reason::NO_SENDER_FUNDS)
            } else if !view.funds.withdraw_round.is_zero() {
                Some(reason::SENDER_UNLOCKED)
            } else {
                None
            }
        });
        if let Some(r) = payment_reason {
            reject(&mut verdict, r, count);
            verdict.failed = Some(r);
            verdict.balance_wei = self.balance_wei(session)?;
            return Ok(verdict);
        }
        let expired = params.expiration_block <= U256::from(current_block);

        // Signatures: the expensive part, outside the lock. The sender's public key is
        // recovered from its first valid ticket, then tickets verify against it (faster).
        let mut known = self.known_signer(payment.sender)?;
        // In payment order: each ticket's signature check (Err = its reason).
        let mut checked_tickets = Vec::with_capacity(payment.tickets.len());
        for tsp in &payment.tickets {
            let ticket = payment.ticket(tsp);
            let hash = ticket.hash();
            let checked = match &known {
                Some(k) => k.verify(&hash, &tsp.sig),
                None => KnownSigner::from_signature(&hash, &tsp.sig, payment.sender).map(|k| {
                    known = Some(self.remember_signer(k));
                }),
            };
            checked_tickets.push(checked.map(|()| (ticket, tsp)).map_err(|e| e.reason()));
        }

        let ev = params.ev_wei();
        let mut state = self.lock()?;
        let state = &mut *state;
        if state.nonces.len() >= NONCE_SETS_BEFORE_PRUNING {
            let now = U256::from(current_block);
            state.nonces.retain(|_, s| s.expiration_block > now);
        }
        for checked in checked_tickets {
            let (ticket, tsp) = match checked {
                Ok(t) => t,
                Err(r) => {
                    reject(&mut verdict, r, 1);
                    verdict.failed.get_or_insert(r);
                    continue;
                }
            };
            let pending = state
                .pending_wei
                .get(&payment.sender)
                .copied()
                .unwrap_or_default();
            // go-livepeer's order: the reserve, then the nonce, then the expiry.
            let mut failure =
                ticket_failure(ticket.face_value_wei, view_float(view, pending), false);
            // Nonces of the tickets that passed the checks above.
            let seen = &mut state
                .nonces
                .entry(ticket.recipient_rand_hash)
                .or_insert_with(|| SeenNonces {
                    expiration_block: params.expiration_block,
                    nonces: HashSet::new(),
                })
                .nonces;
            if failure.is_none() {
                failure = nonce_failure(seen, ticket.sender_nonce);
            }
            if failure.is_none() && expired {
                failure = Some(reason::EXPIRED);
            }
            // A winner is kept whatever else failed (expired, replayed): it is still redeemable
            // on chain. Only a reserve too small for it stops it (it could not be paid).
            let won = failure != Some(reason::INSUFFICIENT_SENDER_RESERVE)
                && wins(&tsp.sig, rand, ticket.win_prob)
                && state.winners_seen.insert(ticket.hash());
            if won {
                let pending = state.pending_wei.entry(payment.sender).or_default();
                *pending = pending.saturating_add(ticket.face_value_wei);
                verdict.winners.push(Winner {
                    ticket,
                    sig: tsp.sig.to_vec(),
                    recipient_rand: rand,
                });
            }
            match (failure, verdict.failed) {
                (Some(r), _) => {
                    reject(&mut verdict, r, 1);
                    verdict.failed.get_or_insert(r);
                }
                (None, Some(_)) => reject(&mut verdict, reason::AFTER_FAILED_TICKET, 1),
                (None, None) => {
                    verdict.valid += 1;
                    verdict.credited_wei = verdict.credited_wei.saturating_add(ev);
                }
            }
        }
        let s = state
            .sessions
            .get_mut(&session)
            .ok_or(RecipientError::UnknownSession(session))?;
        s.balance_wei = s
            .balance_wei
            .saturating_add(to_signed(verdict.credited_wei));
        verdict.balance_wei = s.balance_wei;
        Ok(verdict)
    }

    #[cfg(test)]
    fn nonce_sets(&self) -> usize {
        self.state.lock().map(|s| s.nonces.len()).unwrap_or(0)
    }

    /// The session's balance, wei.
    pub fn balance_wei(&self, session: u32) -> Result<I256, RecipientError> {
        self.lock()?
            .sessions
            .get(&session)
            .map(|s| s.balance_wei)
            .ok_or(RecipientError::UnknownSession(session))
    }

    /// Debits `fee_wei` (price × output pixels) from the session's balance; returns the new
    /// balance.
    pub fn debit(&self, session: u32, fee_wei: U256) -> Result<I256, RecipientError> {
        let mut state = self.lock()?;
        let s = state
            .sessions
            .get_mut(&session)
            .ok_or(RecipientError::UnknownSession(session))?;
        s.balance_wei = s.balance_wei.saturating_sub(to_signed(fee_wei));
        Ok(s.balance_wei)
    }

    /// A winner of `sender` was redeemed or given up on: it no longer holds reserve.
    pub fn release_pending(
        &self,
        sender: Address,
        face_value_wei: U256,
    ) -> Result<(), RecipientError> {
        let mut state = self.lock()?;
        if let Some(p) = state.pending_wei.get_mut(&sender) {
            *p = p.saturating_sub(face_value_wei);
        }
        Ok(())
    }
}

/// Why one validly signed ticket fails (before nonces): a face value above what the sender's
/// max float allows, or expired parameters.
pub fn ticket_failure(
    face_value_wei: U256,
    max_float: U256,
    expired: bool,
) -> Option<&'static str> {
    if face_value_wei > max_float {
        Some(reason::INSUFFICIENT_SENDER_RESERVE)
    } else if expired {
        Some(reason::EXPIRED)
    } else {
        None
    }
}

/// Records `nonce` among those seen under one recipientRand; why it fails, if it does (a
/// replay, or more than [`MAX_SENDER_NONCES`]).
fn nonce_failure(seen: &mut HashSet<u32>, nonce: u32) -> Option<&'static str> {
    if seen.contains(&nonce) {
        Some(reason::REPLAYED_NONCE)
    } else if seen.len() >= MAX_SENDER_NONCES {
        Some(reason::TOO_MANY_NONCES)
    } else {
        seen.insert(nonce);
        None
    }
}

/// The max float of `view` with `pending` face value awaiting redemption.
fn view_float(view: &SenderView, pending: U256) -> U256 {
    max_float_wei(
        view.funds.reserve,
        view.claimed_this_round_wei,
        view.active_set_size,
        view.claimed_by_recipient_wei,
        view.funds.deposit,
        pending,
    )
}

/// U256 → I256, saturating at I256::MAX.
pub fn to_signed(v: U256) -> I256 {
    I256::try_from(v).unwrap_or(I256::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::params::TicketSenderParams;
    use crate::payments::sig::Key;
    use alloy_primitives::Bytes;

    fn cfg() -> RecipientConfig {
        RecipientConfig {
            ticket_ev_wei: U256::from(1_000u64),
            redeem_gas_price_wei: U256::from(1u64),
            redeem_gas_estimate: 1_000,
            max_face_value_wei: None,
            price: PriceInfo::per_pixel(U256::from(1u64)),
        }
    }

    fn view() -> SenderView {
        SenderView {
            funds: SenderFunds {
                deposit: U256::from(1_000_000u64),
                reserve: U256::from(10_000_000u64),
                withdraw_round: U256::ZERO,
            },
            active_set_size: U256::from(10u64),
            ..SenderView::default()
        }
    }

    /// A recipient with session 0 registered to a fixed sender key.
    fn registered() -> (Recipient, Key) {
        let r = Recipient::with_secret(Address::repeat_byte(9), [5; 32], cfg());
        let key = Key::from_bytes(&[7; 32]).unwrap();
        r.register_session(0, key.address()).unwrap();
        (r, key)
    }

    fn round() -> RoundInfo {
        RoundInfo {
            round: U256::from(3u64),
            block_hash: B256::repeat_byte(3),
            active_set_size: U256::from(10u64),
        }
    }

    fn pay(key: &Key, params: &TicketParams, nonces: &[u32]) -> Payment {
        let tickets = nonces
            .iter()
            .map(|&n| {
                let t = Ticket {
                    recipient: params.recipient,
                    sender: key.address(),
                    face_value_wei: params.face_value_wei,
                    win_prob: params.win_prob,
                    sender_nonce: n,
                    recipient_rand_hash: params.recipient_rand_hash,
                    creation_round: params.expiration_params.creation_round,
                    creation_round_block_hash: params.expiration_params.creation_round_block_hash,
                };
                TicketSenderParams {
                    sender_nonce: n,
                    sig: Bytes::from(key.sign_hash(&t.hash()).unwrap().to_vec()),
                }
            })
            .collect();
        Payment {
            sender: key.address(),
            ticket_params: params.clone(),
            tickets,
            expected_price: params.price,
        }
    }

    #[test]
    fn params_use_face_value_rules_and_commit_to_rand() {
        let r = Recipient::with_secret(Address::repeat_byte(9), [5; 32], cfg());
        let sender = Address::repeat_byte(1);
        let p = r.ticket_params(sender, 100, &round(), &view()).unwrap();
        // 1000 gas × 1 wei × 100 = 100_000 < EV × 100 = 100_000: equal; reserve share 1e6.
        assert_eq!(p.face_value_wei, U256::from(100_000u64));
        assert_eq!(p.expiration_block, U256::from(140u64));
        assert_eq!(
            p.recipient_rand_hash,
            recipient_rand_hash(r.rand_for(sender, &p))
        );
        assert!(p.ev_wei() >= U256::from(1_000u64));
        // A reserve too small for one EV refuses parameters.
        let poor = SenderView {
            funds: SenderFunds {
                reserve: U256::from(9_000u64),
                ..view().funds
            },
            ..view()
        };
        assert!(matches!(
            r.ticket_params(sender, 100, &round(), &poor),
            Err(RecipientError::Params(
                ParamsError::InsufficientSenderReserve { .. }
            ))
        ));
    }

    #[test]
    fn valid_tickets_credit_ev_and_replays_are_rejected() {
        let (r, key) = registered();
        let p = r
            .ticket_params(key.address(), 100, &round(), &view())
            .unwrap();
        let v = r
            .receive_payment(0, &pay(&key, &p, &[1, 2, 3]), 100, &view())
            .unwrap();
        assert_eq!(v.valid, 3);
        assert!(v.rejected.is_empty());
        assert_eq!(v.credited_wei, p.ev_wei() * U256::from(3u64));
        // Nonce 3 is a replay: the payment fails there and 4, after it, is not credited.
        let v = r
            .receive_payment(0, &pay(&key, &p, &[3, 4]), 100, &view())
            .unwrap();
        assert_eq!(v.valid, 0);
        assert_eq!(v.rejected.get(reason::REPLAYED_NONCE), Some(&1));
        assert_eq!(v.rejected.get(reason::AFTER_FAILED_TICKET), Some(&1));
        assert_eq!(
            r.balance_wei(0).unwrap(),
            to_signed(p.ev_wei() * U256::from(3u64))
        );
        let b = r.debit(0, p.ev_wei() * U256::from(5u64)).unwrap();
        assert!(b.is_negative());
    }

    #[test]
    fn nonces_of_expired_parameters_are_forgotten() {
        let (r, key) = registered();
        // ~10 of these tickets win; a reserve that pending winners cannot exhaust.
        let rich = SenderView {
            funds: SenderFunds {
                reserve: U256::from(10u64).pow(U256::from(12u64)),
                ..view().funds
            },
            ..view()
        };
        for _ in 0..NONCE_SETS_BEFORE_PRUNING {
            let p = r
                .ticket_params(key.address(), 100, &round(), &rich)
                .unwrap();
            assert_eq!(
                r.receive_payment(0, &pay(&key, &p, &[1]), 100, &rich)
                    .unwrap()
                    .valid,
                1
            );
        }
        assert_eq!(r.nonce_sets(), NONCE_SETS_BEFORE_PRUNING);
        // Block 150: every set above expired at 140.
        let p = r
            .ticket_params(key.address(), 150, &round(), &rich)
            .unwrap();
        assert_eq!(
            r.receive_payment(0, &pay(&key, &p, &[1]), 150, &rich)
                .unwrap()
                .valid,
            1
        );
        assert_eq!(r.nonce_sets(), 1);
    }

    #[test]
    fn ticket_failure_table() {
        let u = U256::from;
        // (face value, max float, expired, reason)
        let cases = [
            (100u64, 100u64, false, None),
            (101, 100, false, Some(reason::INSUFFICIENT_SENDER_RESERVE)),
            (100, 100, true, Some(reason::EXPIRED)),
            (101, 100, true, Some(reason::INSUFFICIENT_SENDER_RESERVE)),
        ];
        for (fv, float, expired, want) in cases {
            assert_eq!(
                ticket_failure(u(fv), u(float), expired),
                want,
                "{fv} {float} {expired}"
            );
        }
        let mut seen = HashSet::new();
        assert_eq!(nonce_failure(&mut seen, 1), None);
        assert_eq!(nonce_failure(&mut seen, 1), Some(reason::REPLAYED_NONCE));
        for n in 2..=MAX_SENDER_NONCES as u32 {
            assert_eq!(nonce_failure(&mut seen, n), None);
        }
        assert_eq!(
            nonce_failure(&mut seen, 9999),
            Some(reason::TOO_MANY_NONCES)
        );
    }

    #[test]
    fn the_rest_of_a_payment_fails_after_its_first_failing_ticket() {
        // (nonces in one payment, valid, rejected by reason, first failure)
        type Case = (
            &'static [u32],
            u32,
            &'static [(&'static str, u32)],
            Option<&'static str>,
        );
        let cases: [Case; 4] = [
            (&[1, 2, 3], 3, &[], None),
            (
                &[1, 1, 2],
                1,
                &[
                    (reason::REPLAYED_NONCE, 1),
                    (reason::AFTER_FAILED_TICKET, 1),
                ],
                Some(reason::REPLAYED_NONCE),
            ),
            (
                &[5, 6, 5, 7, 8],
                2,
                &[
                    (reason::REPLAYED_NONCE, 1),
                    (reason::AFTER_FAILED_TICKET, 2),
                ],
                Some(reason::REPLAYED_NONCE),
            ),
            (
                &[9, 10, 10],
                2,
                &[(reason::REPLAYED_NONCE, 1)],
                Some(reason::REPLAYED_NONCE),
            ),
        ];
        for (nonces, valid, rejected, failed) in cases {
            let (r, key) = registered();
            let p = r
                .ticket_params(key.address(), 100, &round(), &view())
                .unwrap();
            let v = r
                .receive_payment(0, &pay(&key, &p, nonces), 100, &view())
                .unwrap();
            assert_eq!(v.valid, valid, "{nonces:?}");
            let want: BTreeMap<&str, u32> = rejected.iter().copied().collect();
            assert_eq!(v.rejected, want, "{nonces:?}");
            assert_eq!(v.failed, failed, "{nonces:?}");
            assert_eq!(v.credited_wei, p.ev_wei() * U256::from(valid));
        }
    }

    #[test]
    fn winners_of_expired_or_replayed_tickets_are_kept_once() {
        let (r, key) = registered();
        // Calibration parameters: every ticket wins.
        let p = r
            .calibration_params(key.address(), 100, &round(), &view())
            .unwrap();
        // Expired (block 140 = expiration): not credited, but the winner is kept.
        let v = r
            .receive_payment(0, &pay(&key, &p, &[1]), 140, &view())
            .unwrap();
        assert_eq!((v.valid, v.failed), (0, Some(reason::EXPIRED)));
        assert_eq!(v.winners.len(), 1);
        // Replayed: the same winning ticket again is not queued a second time.
        let v = r
            .receive_payment(0, &pay(&key, &p, &[1]), 139, &view())
            .unwrap();
        assert_eq!(v.failed, Some(reason::REPLAYED_NONCE));
        assert_eq!(v.winners.len(), 0);
        // A fresh nonce under the same parameters is a new winner.
        let v = r
            .receive_payment(0, &pay(&key, &p, &[2]), 139, &view())
            .unwrap();
        assert_eq!((v.valid, v.winners.len()), (1, 1));
    }
}
