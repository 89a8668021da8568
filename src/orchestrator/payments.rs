//! The orchestrator's payments: the chain it reads senders' funds from, the recipient that
//! issues ticket parameters and validates every ticket (`crate::payments::recipient`), and the
//! durable queue winners are written to (fsync'd) before a segment is acknowledged. Winners are
//! redeemed when the orchestrator stops cleanly, or later by `rigbench redeem --data-dir`.
//!
//! On the embedded chain, which lives inside the orchestrator's process (its state in
//! `<data-dir>/embedded-chain`), no gateway can fund itself: the orchestrator funds each new
//! sender's deposit and reserve with play money through the broker's
//! `fundDepositAndReserveFor`, once, when it first asks for info. On an rpc chain a sender must
//! fund itself; the orchestrator only reads its funds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use anyhow::{Context, Result};

use crate::chain::broker::TicketBroker;
use crate::chain::embedded::{EmbeddedChain, EmbeddedConfig};
use crate::chain::{Chain, RoundInfo};
use crate::config::ChainSettings;
use crate::payments::queue::RedemptionQueue;
use crate::payments::recipient::{
    to_signed, PaymentVerdict, Recipient, RecipientConfig, SenderView,
};
use crate::payments::{Key, Payment, PriceInfo, RedeemReport, TicketParams};

/// What the orchestrator's payments are set up with.
#[derive(Debug, Clone)]
pub struct OrchestratorPaymentsConfig {
    pub data_dir: PathBuf,
    pub chain: ChainSettings,
    pub price_per_pixel_wei: U256,
    pub ticket_ev_wei: U256,
    pub gas_price_wei: U256,
    pub redeem_gas_estimate: u64,
    /// What the embedded chain funds each new sender with (deposit, reserve), wei.
    pub sender_deposit_wei: U256,
    pub sender_reserve_wei: U256,
}

enum ChainHandle {
    Embedded(Box<EmbeddedChain>),
    Other(Box<dyn Chain>),
}

impl ChainHandle {
    fn get(&mut self) -> &mut dyn Chain {
        match self {
            ChainHandle::Embedded(c) => c.as_mut(),
            ChainHandle::Other(c) => c.as_mut(),
        }
    }
}

/// Ticket counts for the summary and the metrics.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TicketStats {
    /// Tickets received in payments that parsed.
    pub tickets_received: u64,
    /// Tickets that validated (each credited one EV).
    pub tickets_valid: u64,
    /// Rejected tickets by the recipient's reason.
    pub tickets_rejected: BTreeMap<String, u64>,
    /// Winning tickets persisted to the redemption queue.
    pub winning_tickets: u64,
    /// EV credited for valid tickets, wei (decimal).
    pub value_received_wei: String,
    /// price × output pixels debited, wei (decimal).
    pub fees_debited_wei: String,
}

/// The orchestrator's payments. `Sync`: request handlers share it.
pub struct OrchestratorPayments {
    chain: Mutex<ChainHandle>,
    recipient: Recipient,
    queue: RedemptionQueue,
    chain_id: u64,
    broker: Address,
    data_dir: PathBuf,
    funding: Option<(U256, U256)>,
    stats: Mutex<(TicketStats, U256, U256)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked left consistent data behind (every update is one statement).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One payment's outcome, as the segment handler answers it.
#[derive(Debug)]
pub struct Accepted {
    pub verdict: PaymentVerdict,
    /// One ticket's EV under the payment's parameters, wei.
    pub ev_wei: U256,
}

impl OrchestratorPayments {
    /// Opens the chain and the queue; the recipient's key is the operator's on rpc, a fresh
    /// one on the embedded chain.
    pub fn open(cfg: &OrchestratorPaymentsConfig) -> Result<OrchestratorPayments> {
        std::fs::create_dir_all(&cfg.data_dir).with_context(|| {
            format!(
                "cannot create the payments directory {}",
                cfg.data_dir.display()
            )
        })?;
        let queue = RedemptionQueue::open(&cfg.data_dir).with_context(|| {
            format!(
                "cannot open the redemption queue in {}",
                cfg.data_dir.display()
            )
        })?;
        let (mut chain, key, funding) = match &cfg.chain {
            ChainSettings::Embedded => {
                let dir = crate::run::payments::embedded_state_dir(&cfg.data_dir);
                let chain = EmbeddedChain::open_or_create(
                    &dir,
                    EmbeddedConfig {
                        gas_price_wei: u128::try_from(cfg.gas_price_wei).unwrap_or(u128::MAX),
                        ..EmbeddedConfig::default()
                    },
                )
                .context("cannot start the embedded chain")?;
                (
                    ChainHandle::Embedded(Box::new(chain)),
                    Key::random().context("cannot make the orchestrator's key")?,
                    Some((cfg.sender_deposit_wei, cfg.sender_reserve_wei)),
                )
            }
            settings @ ChainSettings::Rpc { .. } => {
                let (chain, key) =
                    crate::run::payments::open_chain(settings, &cfg.data_dir, cfg.gas_price_wei)?;
                let key = key.context("an rpc chain needs the operator's key")?;
                (ChainHandle::Other(chain), key, None)
            }
        };
        let (chain_id, broker) = {
            let c = chain.get();
            (c.chain_id(), c.broker())
        };
        let recipient = Recipient::new(
            key.address(),
            RecipientConfig {
                ticket_ev_wei: cfg.ticket_ev_wei,
                redeem_gas_price_wei: cfg.gas_price_wei,
                redeem_gas_estimate: cfg.redeem_gas_estimate,
                max_face_value_wei: None,
                price: PriceInfo::per_pixel(cfg.price_per_pixel_wei),
            },
        )
        .context("cannot start the recipient")?;
        Ok(OrchestratorPayments {
            chain: Mutex::new(chain),
            recipient,
            queue,
            chain_id,
            broker,
            data_dir: cfg.data_dir.clone(),
            funding,
            stats: Mutex::new((TicketStats::default(), U256::ZERO, U256::ZERO)),
        })
    }

    /// The recipient's address (OrchestratorInfo.address).
    pub fn address(&self) -> Address {
        self.recipient.address()
    }

    /// The price quoted, wei per pixel.
    pub fn price(&self) -> PriceInfo {
        self.recipient.config().price
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn view(&self, sender: Address) -> Result<(u64, RoundInfo, SenderView)> {
        let mut chain = lock(&self.chain);
        let c = chain.get();
        let block = c.block_number().context("reading the block number")?;
        let round = c.round_info().context("reading the round")?;
        let funds = c
            .sender_funds(sender)
            .context("reading the sender's funds")?;
        Ok((
            block,
            round,
            SenderView {
                funds,
                active_set_size: round.active_set_size,
                // The chains do not report per-round reserve claims yet.
                ..SenderView::default()
            },
        ))
    }

    /// On the embedded chain, funds a sender that has nothing yet (play money).
    pub fn fund_if_new(&self, sender: Address) -> Result<()> {
        let Some((deposit, reserve)) = self.funding else {
            return Ok(());
        };
        let mut chain = lock(&self.chain);
        let ChainHandle::Embedded(c) = &mut *chain else {
            return Ok(());
        };
        let funds = c
            .sender_funds(sender)
            .context("reading the sender's funds")?;
        if !funds.deposit.is_zero() || !funds.reserve.is_zero() {
            return Ok(());
        }
        let call = TicketBroker::fundDepositAndReserveForCall {
            _addr: sender,
            _depositAmount: deposit,
            _reserveAmount: reserve,
        };
        // The embedded chain credits the faucet account what the call needs.
        let faucet = alloy_primitives::keccak256(b"rigbench embedded faucet");
        let outcome = c
            .call_broker(
                &faucet,
                deposit.saturating_add(reserve),
                call.abi_encode().into(),
            )
            .context("funding the sender on the embedded chain")?;
        if let Some(reason) = outcome.revert_reason {
            anyhow::bail!("funding the sender on the embedded chain reverted: {reason}");
        }
        Ok(())
    }

    /// Registers a gateway session (index `session`) paying from `sender`.
    pub fn register(&self, session: u32, sender: Address) -> Result<()> {
        Ok(self.recipient.register_session(session, sender)?)
    }

    /// Fresh ticket parameters for `sender`.
    pub fn ticket_params(&self, sender: Address) -> Result<TicketParams> {
        let (block, round, view) = self.view(sender)?;
        Ok(self.recipient.ticket_params(sender, block, &round, &view)?)
    }

    /// Validates a payment for `session`, persists its winners (fsync'd) and books it.
    pub fn receive(&self, session: u32, payment: &Payment) -> Result<Accepted> {
        let (block, _, view) = self.view(payment.sender)?;
        let verdict = self
            .recipient
            .receive_payment(session, payment, block, &view)?;
        crate::payments::payer::persist_winners(
            &self.queue,
            &verdict.winners,
            self.chain_id,
            self.broker,
            |_| {},
        )
        .context("cannot persist a winning ticket; the segment is refused")?;
        let mut st = lock(&self.stats);
        st.0.tickets_received += payment.tickets.len() as u64;
        st.0.tickets_valid += u64::from(verdict.valid);
        st.0.winning_tickets += verdict.winners.len() as u64;
        for (r, n) in &verdict.rejected {
            *st.0.tickets_rejected.entry((*r).to_string()).or_insert(0) += u64::from(*n);
        }
        st.1 = st.1.saturating_add(verdict.credited_wei);
        Ok(Accepted {
            ev_wei: payment.ticket_params.ev_wei(),
            verdict,
        })
    }

    /// Whether `balance_wei` covers at least one ticket EV (go-livepeer's SufficientBalance).
    pub fn sufficient(accepted: &Accepted) -> bool {
        accepted.verdict.balance_wei >= to_signed(accepted.ev_wei)
    }

    /// Debits price × output pixels from `session`; returns the fee, wei.
    pub fn debit(&self, session: u32, output_pixels: u64) -> Result<U256> {
        let (num, den) = self.price().reduced();
        let fee = U256::from(output_pixels).saturating_mul(num).div_ceil(den);
        self.recipient.debit(session, fee)?;
        let mut st = lock(&self.stats);
        st.2 = st.2.saturating_add(fee);
        Ok(fee)
    }

    /// Ticket counts so far.
    pub fn stats(&self) -> TicketStats {
        let st = lock(&self.stats);
        let mut s = st.0.clone();
        s.value_received_wei = st.1.to_string();
        s.fees_debited_wei = st.2.to_string();
        s
    }

    /// Redeems every pending winner (at a clean stop).
    pub fn redeem_pending(&self) -> Result<RedeemReport> {
        let mut chain = lock(&self.chain);
        Ok(crate::payments::redeem_pending(
            &self.data_dir,
            chain.get(),
        )?)
    }
}
