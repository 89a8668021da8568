//! The payments façade the run loop drives: one [`PaymentRun`] per run (keys, sender funding,
//! leftover redemption, the background redeemer, the summary) and one [`SessionPayer`] per
//! session thread (pay before transcoding, debit after).
//!
//! Redemption runs on one background thread during the run, as go-livepeer's recipient does
//! (`RedeemWinningTickets` in its own goroutine): winners are rare, a redemption on a real node
//! waits seconds for a receipt, and tickets must be redeemed before they expire (2 rounds), so a
//! long run should not hold them to the end. Session threads never wait for it: they read chain
//! state (block, round, sender funds) through a cache refreshed with `try_lock`, so a redemption
//! in flight costs them nothing. `finish` then drains whatever is left (bounded retries) and, if
//! the run drew no winner, redeems a few win-probability-1 calibration tickets so the gas is
//! still measured.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, I256, U256};
use serde::{Deserialize, Serialize};

use super::params::{Payment, PriceInfo, RenditionSpec, TicketParams};
use super::queue::{
    redeem_entry, QueueError, QueuedTicket, Redemption, RedemptionQueue, RetryPolicy, TicketState,
};
use super::recipient::{Recipient, RecipientConfig, RecipientError, SenderView};
use super::sender::{Sender, SenderError};
use super::sig::{Key, KeyError};
use super::ticket::win_prob_fraction;
use super::{ChainSummary, PaymentsSummary};
use crate::chain::{Chain, ChainError, RoundInfo, SenderFunds};

/// go-livepeer's redeem gas estimate on Arbitrum, used to size face values (not measured).
pub const DEFAULT_REDEEM_GAS_ESTIMATE: u64 = super::params::ARBITRUM_REDEEM_GAS;
/// Default sender deposit the run funds each session's sender with: 1 ETH.
pub const DEFAULT_SENDER_DEPOSIT_WEI: u128 = 1_000_000_000_000_000_000;
/// Default sender reserve: 1 ETH (with Livepeer's active set of 100, 0.01 ETH per orchestrator).
pub const DEFAULT_SENDER_RESERVE_WEI: u128 = 1_000_000_000_000_000_000;
/// Calibration tickets redeemed when a run drew no winner.
pub const CALIBRATION_TICKETS: u32 = 3;

/// Everything payments need for a run.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// Price the orchestrator charges, wei per output pixel.
    pub price_per_pixel_wei: U256,
    /// Expected value of one ticket, wei.
    pub ticket_ev_wei: U256,
    /// Gas price used to size face values, wei.
    pub redeem_gas_price_wei: U256,
    /// Redemption gas used to size face values: an estimate (go-livepeer's Arbitrum figure by
    /// default). Results report the gas measured on the chain, not this.
    pub redeem_gas_estimate: u64,
    /// Directory of the redemption queue (winners are persisted here).
    pub data_dir: PathBuf,
    /// Cap on face values, wei.
    pub max_face_value_wei: Option<U256>,
    /// The run tops each session's sender up to this deposit on chain, wei (0 = fund nothing).
    pub sender_deposit_wei: U256,
    /// The run tops each session's sender up to this reserve on chain, wei.
    pub sender_reserve_wei: U256,
    /// The orchestrator's key (the tickets' recipient); a fresh one when None.
    pub recipient_key: Option<Key>,
    /// Broadcaster keys; empty = a fresh key per session, otherwise session i uses key
    /// i mod len (a broadcaster may pay for several sessions with one key).
    pub sender_keys: Vec<Key>,
    /// Retries of an unreachable chain per ticket.
    pub redeem_retry: RetryPolicy,
}

impl PaymentsConfig {
    /// Defaults from the issue and go-livepeer: 1000 wei/pixel, EV 8 gwei, 0.01 gwei gas
    /// price (Arbitrum), 1.2M redeem gas, 1 ETH deposit and reserve per sender.
    pub fn new(data_dir: PathBuf) -> PaymentsConfig {
        PaymentsConfig {
            price_per_pixel_wei: U256::from(1_000u64),
            ticket_ev_wei: U256::from(super::params::DEFAULT_TICKET_EV_WEI),
            redeem_gas_price_wei: U256::from(10_000_000u64),
            redeem_gas_estimate: DEFAULT_REDEEM_GAS_ESTIMATE,
            data_dir,
            max_face_value_wei: None,
            sender_deposit_wei: U256::from(DEFAULT_SENDER_DEPOSIT_WEI),
            sender_reserve_wei: U256::from(DEFAULT_SENDER_RESERVE_WEI),
            recipient_key: None,
            sender_keys: Vec::new(),
            redeem_retry: RetryPolicy::default(),
        }
    }
}

/// Errors of the payments façade. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    #[error("payments configuration: {0}")]
    Config(String),
    #[error("chain error while {during}: {source}")]
    Chain {
        during: &'static str,
        #[source]
        source: ChainError,
    },
    #[error("funding sender {sender} on chain reverted: {reason}; check that the account holds enough ether for the deposit and reserve it is funded with")]
    Funding { sender: Address, reason: String },
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Sender(#[from] SenderError),
    #[error("orchestrator: {0}")]
    Recipient(#[from] RecipientError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("session {session}: the sender's balance with the orchestrator is {balance_wei} wei, below one ticket EV ({ev_wei} wei), so the segment is not transcoded (rejected tickets: {rejected})")]
    InsufficientBalance {
        session: u32,
        balance_wei: I256,
        ev_wei: U256,
        rejected: String,
    },
    #[error("session {session}: the payment failed at its first failing ticket ({reason}), so no ticket after it was credited and the segment is refused, as go-livepeer does (rejected tickets: {rejected})")]
    PaymentFailed {
        session: u32,
        reason: &'static str,
        rejected: String,
    },
    #[error("session {session} is out of range: the run was started with {sessions} sessions")]
    NoSuchSession { session: u32, sessions: u32 },
    #[error("session {0} already has its payer; call PaymentRun::session once per session")]
    SessionTaken(u32),
    #[error("payments message (de)serialisation failed: {0}")]
    Message(String),
    #[error("a payments lock was poisoned by a panicking thread")]
    Poisoned,
    #[error("calibration: {0}; `rigbench redeem` retries it")]
    Calibration(String),
}

fn chain_err(during: &'static str) -> impl FnOnce(ChainError) -> PaymentsError {
    move |source| PaymentsError::Chain { during, source }
}

/// What one segment's payment did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentPayment {
    /// Tickets the broadcaster sent for this segment.
    pub tickets: u32,
    pub tickets_valid: u32,
    pub tickets_rejected: u32,
    /// Winners among them (persisted before this returned).
    pub winners: u32,
    /// The broadcaster's fee estimate for the segment (1.02 × price × estimated pixels), wei.
    pub fee_estimate_wei: U256,
    /// The session's balance with the orchestrator after this payment, wei.
    pub balance_wei: I256,
}

/// What `rigbench redeem` (or a run's start) did with pending winners.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemReport {
    /// Winners redeemed (calibration tickets excluded).
    pub redeemed: u64,
    /// Calibration tickets redeemed (left pending by an earlier run).
    pub calibration: u64,
    /// Mined and reverted (reasons kept in the ticket files).
    pub failed: u64,
    /// Found already used on chain; marked redeemed without a new transaction.
    pub already_used: u64,
    /// Still pending: the chain was unreachable or refused the request.
    pub pending: u64,
    /// Pending winners issued for another chain or broker (not attempted).
    pub other_chain: u64,
    /// Gas of every redemption transaction sent (reverted included).
    pub gas_used_total: u64,
    /// Gas of the successful redemptions only.
    pub gas_used_redeemed: u64,
    /// Mean gas of the successful redemptions; None when none succeeded.
    pub gas_per_redemption: Option<u64>,
    /// Face value of the winners redeemed (calibration excluded), wei.
    pub face_value_redeemed_wei: U256,
    /// The last error that left a winner pending.
    pub last_error: Option<String>,
}

impl RedeemReport {
    fn gas_mean(&mut self, success_gas: u64, success_count: u64) {
        self.gas_used_redeemed = success_gas;
        self.gas_per_redemption = success_gas.checked_div(success_count);
    }
}

#[derive(Debug, Default)]
struct Stats {
    tickets_sent: u64,
    tickets_valid: u64,
    rejected: BTreeMap<String, u64>,
    winners: u64,
    redeemed: u64,
    redeem_failed: u64,
    calibration_redemptions: u64,
    earlier_redeemed: u64,
    gas_used_total: u64,
    gas_success_total: u64,
    gas_success_count: u64,
    fees_debited_wei: U256,
    face_value_redeemed_wei: U256,
    last_params: Option<(U256, U256)>,
    /// Time session threads spent in `pay_segment` and `debit`.
    work: Duration,
}

#[derive(Debug, Clone, Default)]
struct ChainView {
    block: u64,
    round: RoundInfo,
    funds: HashMap<Address, SenderFunds>,
}

struct Shared {
    chain: Mutex<Box<dyn Chain>>,
    chain_summary: ChainSummary,
    chain_id: u64,
    broker: Address,
    view: Mutex<ChainView>,
    recipient: Recipient,
    queue: RedemptionQueue,
    stats: Mutex<Stats>,
    retry: RetryPolicy,
    price: PriceInfo,
    gas_price_wei: U256,
    /// Set by `finish` (or drop): the redeemer stops after the ticket in hand.
    closing: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, PaymentsError> {
    m.lock().map_err(|_| PaymentsError::Poisoned)
}

impl Shared {
    /// Refreshes block, round and the given senders' funds from the chain, unless a redemption
    /// holds it (then the cache stands). Chain trouble here keeps the cache too: validation uses
    /// the last known state, as go-livepeer's watchers do.
    fn refresh_view(&self, senders: &[Address], wait: bool) -> Result<ChainView, PaymentsError> {
        let guard = if wait {
            Some(lock(&self.chain)?)
        } else {
            self.chain.try_lock().ok()
        };
        if let Some(mut chain) = guard {
            let block = chain.block_number();
            let round = chain.round_info();
            let mut funds = Vec::new();
            for s in senders {
                if let Ok(f) = chain.sender_funds(*s) {
                    funds.push((*s, f));
                }
            }
            drop(chain);
            let mut view = lock(&self.view)?;
            if let Ok(b) = block {
                view.block = b;
            }
            if let Ok(r) = round {
                view.round = r;
            }
            for (s, f) in funds {
                view.funds.insert(s, f);
            }
        }
        Ok(lock(&self.view)?.clone())
    }

    fn sender_view(&self, view: &ChainView, sender: Address) -> SenderView {
        SenderView {
            funds: view.funds.get(&sender).copied().unwrap_or_default(),
            active_set_size: view.round.active_set_size,
            // The chains do not report per-round reserve claims yet.
            ..SenderView::default()
        }
    }

    /// Redeems one entry, sharing the chain with session threads, and books the outcome.
    fn redeem(&self, entry: &QueuedTicket, earlier: bool) -> Result<Redemption, PaymentsError> {
        let (outcome, entry) = redeem_entry(&self.queue, entry, &self.retry, |f| {
            let mut chain = self.chain.lock().map_err(|_| {
                ChainError::Rejected("the chain lock was poisoned by a panicking thread".into())
            })?;
            f(&mut **chain)
        })?;
        self.book(&outcome, &entry, earlier)?;
        Ok(outcome)
    }

    fn book(
        &self,
        outcome: &Redemption,
        entry: &QueuedTicket,
        earlier: bool,
    ) -> Result<(), PaymentsError> {
        let settled = {
            let mut st = lock(&self.stats)?;
            match outcome {
                Redemption::Redeemed(tx) => {
                    st.gas_used_total = st.gas_used_total.saturating_add(tx.gas_used);
                    st.gas_success_total = st.gas_success_total.saturating_add(tx.gas_used);
                    st.gas_success_count += 1;
                    if entry.calibration {
                        st.calibration_redemptions += 1;
                    } else {
                        if earlier {
                            st.earlier_redeemed += 1;
                        } else {
                            st.redeemed += 1;
                        }
                        st.face_value_redeemed_wei = st
                            .face_value_redeemed_wei
                            .saturating_add(entry.ticket.face_value_wei);
                    }
                    true
                }
                Redemption::Reverted(tx) => {
                    st.gas_used_total = st.gas_used_total.saturating_add(tx.gas_used);
                    st.redeem_failed += 1;
                    true
                }
                Redemption::AlreadyUsed => {
                    if !entry.calibration && !earlier {
                        st.redeemed += 1;
                    }
                    true
                }
                // Settled by someone else, who released it.
                Redemption::NotPending(_) => false,
                Redemption::OtherChain | Redemption::LeftPending(_) => false,
            }
        };
        if settled {
            self.recipient
                .release_pending(entry.ticket.sender, entry.ticket.face_value_wei)?;
            // The sender's funds changed on chain.
            self.refresh_view(&[entry.ticket.sender], false)?;
        }
        Ok(())
    }
}

/// The run's payments: shared by session threads (`Sync`).
pub struct PaymentRun {
    shared: Arc<Shared>,
    senders: Vec<Key>,
    taken: Mutex<HashSet<u32>>,
    redeemer: Option<(mpsc::Sender<QueuedTicket>, JoinHandle<()>)>,
    sender_deposit_wei: U256,
    sender_reserve_wei: U256,
    earlier: RedeemReport,
}

impl std::fmt::Debug for PaymentRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentRun")
            .field("chain", &self.shared.chain_summary)
            .field("recipient", &self.shared.recipient.address())
            .field("senders", &self.senders)
            .finish_non_exhaustive()
    }
}

impl PaymentRun {
    /// Makes the keys, redeems whatever an earlier run left pending in `data_dir`, tops up
    /// each sender's deposit and reserve on chain, and starts the background redeemer.
    pub fn start(
        cfg: PaymentsConfig,
        mut chain: Box<dyn Chain>,
        sessions: u32,
    ) -> Result<PaymentRun, PaymentsError> {
        if cfg.ticket_ev_wei.is_zero() {
            return Err(PaymentsError::Config(
                "ticket EV must be a positive number of wei".into(),
            ));
        }
        if cfg.redeem_retry.tries == 0 {
            return Err(PaymentsError::Config(
                "redeem retries must be at least 1".into(),
            ));
        }
        let queue = RedemptionQueue::open(&cfg.data_dir)?;

        // Leftovers first, with the chain to ourselves.
        let earlier = redeem_pending_with(&queue, chain.as_mut(), &cfg.redeem_retry)?;

        let recipient_key = match cfg.recipient_key.clone() {
            Some(k) => k,
            None => Key::random()?,
        };
        let senders: Vec<Key> = if cfg.sender_keys.is_empty() {
            (0..sessions)
                .map(|_| Key::random())
                .collect::<Result<_, _>>()?
        } else {
            (0..sessions as usize)
                .map(|i| cfg.sender_keys[i % cfg.sender_keys.len()].clone())
                .collect()
        };
        let mut funded = HashSet::new();
        for key in &senders {
            if funded.insert(key.address()) {
                fund_sender(
                    chain.as_mut(),
                    key,
                    cfg.sender_deposit_wei,
                    cfg.sender_reserve_wei,
                )?;
            }
        }

        let price = PriceInfo::per_pixel(cfg.price_per_pixel_wei);
        let recipient = Recipient::new(
            recipient_key.address(),
            RecipientConfig {
                ticket_ev_wei: cfg.ticket_ev_wei,
                redeem_gas_price_wei: cfg.redeem_gas_price_wei,
                redeem_gas_estimate: cfg.redeem_gas_estimate,
                max_face_value_wei: cfg.max_face_value_wei,
                price,
            },
        )?;
        let chain_summary = ChainSummary {
            kind: chain.kind().to_string(),
            chain_id: chain.chain_id(),
            broker: format!("{:#x}", chain.broker()),
        };
        let (chain_id, broker) = (chain.chain_id(), chain.broker());
        let stats = Stats {
            earlier_redeemed: earlier.redeemed,
            redeem_failed: earlier.failed,
            gas_used_total: earlier.gas_used_total,
            gas_success_total: earlier.gas_used_redeemed,
            gas_success_count: earlier.redeemed + earlier.calibration,
            calibration_redemptions: earlier.calibration,
            face_value_redeemed_wei: earlier.face_value_redeemed_wei,
            ..Stats::default()
        };
        let shared = Arc::new(Shared {
            chain: Mutex::new(chain),
            chain_summary,
            chain_id,
            broker,
            view: Mutex::new(ChainView::default()),
            recipient,
            queue,
            stats: Mutex::new(stats),
            retry: RetryPolicy {
                // go-livepeer holds a winner whose face value is at or below txCost.
                tx_cost_wei: U256::from(cfg.redeem_gas_estimate)
                    .saturating_mul(cfg.redeem_gas_price_wei),
                ..cfg.redeem_retry
            },
            price,
            gas_price_wei: cfg.redeem_gas_price_wei,
            closing: AtomicBool::new(false),
        });
        let addrs: Vec<Address> = funded.into_iter().collect();
        shared.refresh_view(&addrs, true)?;

        let (tx, rx) = mpsc::channel::<QueuedTicket>();
        let bg = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("rigbench-redeemer".into())
            .spawn(move || {
                // Session payers still alive must not keep `finish` waiting: poll for the
                // closing flag. Whatever is left in the channel is on disk for `finish`.
                loop {
                    match rx.recv_timeout(Duration::from_millis(50)) {
                        // Errors leave the ticket pending on disk; `finish` retries and reports.
                        Ok(entry) => {
                            let _ = bg.redeem(&entry, false);
                        }
                        Err(RecvTimeoutError::Timeout) if bg.closing.load(Ordering::SeqCst) => {
                            break
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    if bg.closing.load(Ordering::SeqCst) {
                        break;
                    }
                }
            })
            .map_err(|e| PaymentsError::Config(format!("cannot start the redeemer thread: {e}")))?;
        Ok(PaymentRun {
            shared,
            senders,
            taken: Mutex::new(HashSet::new()),
            redeemer: Some((tx, handle)),
            sender_deposit_wei: cfg.sender_deposit_wei,
            sender_reserve_wei: cfg.sender_reserve_wei,
            earlier,
        })
    }

    /// The orchestrator's address (the tickets' recipient).
    pub fn recipient_address(&self) -> Address {
        self.shared.recipient.address()
    }

    /// Session `session`'s broadcaster address.
    pub fn sender_address(&self, session: u32) -> Option<Address> {
        self.senders.get(session as usize).map(Key::address)
    }

    /// What the leftover redemption at start did.
    pub fn earlier_redemptions(&self) -> &RedeemReport {
        &self.earlier
    }

    /// The payer for one session (call once per session, from any thread).
    pub fn session(&self, session: u32) -> Result<SessionPayer, PaymentsError> {
        let key =
            self.senders
                .get(session as usize)
                .cloned()
                .ok_or(PaymentsError::NoSuchSession {
                    session,
                    sessions: self.senders.len() as u32,
                })?;
        if !lock(&self.taken)?.insert(session) {
            return Err(PaymentsError::SessionTaken(session));
        }
        self.shared
            .recipient
            .register_session(session, key.address())?;
        let view = lock(&self.shared.view)?.clone();
        let deposit = view
            .funds
            .get(&key.address())
            .map(|f| f.deposit)
            .unwrap_or(self.sender_deposit_wei);
        Ok(SessionPayer {
            shared: Arc::clone(&self.shared),
            winners: self.redeemer.as_ref().map(|(tx, _)| tx.clone()),
            session,
            sender: Sender::new(key, deposit),
        })
    }

    /// Stops the redeemer, drains the queue (bounded retries), redeems calibration tickets if
    /// the run drew no winner, and summarises.
    pub fn finish(mut self) -> Result<PaymentsSummary, PaymentsError> {
        self.shared.closing.store(true, Ordering::SeqCst);
        if let Some((tx, handle)) = self.redeemer.take() {
            drop(tx);
            handle
                .join()
                .map_err(|_| PaymentsError::Config("the redeemer thread panicked".into()))?;
        }
        // Whatever the background pass left pending, once more; stop at the first winner the
        // chain cannot take (the rest would wait just as long).
        let mut chain_down = false;
        for entry in self.shared.queue.pending()? {
            if entry.chain_id != self.shared.chain_id || entry.broker != self.shared.broker {
                continue;
            }
            if let Redemption::LeftPending(_) = self.shared.redeem(&entry, false)? {
                chain_down = true;
                break;
            }
        }
        let winners = lock(&self.shared.stats)?.winners;
        let calibration_note = if winners > 0 {
            None
        } else if chain_down {
            Some("not run: the chain was unreachable".to_string())
        } else {
            // A failed calibration costs the gas figure, not the run's results.
            self.calibrate().err().map(|e| format!("failed: {e}"))
        };
        let pending = self
            .shared
            .queue
            .all()?
            .iter()
            .filter(|e| e.state == TicketState::Pending)
            .count() as u64;
        let st = lock(&self.shared.stats)?;
        let (face_value, win_prob) = st.last_params.unwrap_or_default();
        Ok(PaymentsSummary {
            price_per_pixel_wei: self.shared.price.price_per_unit_wei.to_string(),
            ticket_ev_wei: self.shared.recipient.config().ticket_ev_wei.to_string(),
            face_value_wei: face_value.to_string(),
            win_prob: win_prob_fraction(win_prob),
            win_prob_raw: win_prob.to_string(),
            redeem_gas_price_wei: self.shared.gas_price_wei.to_string(),
            tickets_sent: st.tickets_sent,
            tickets_valid: st.tickets_valid,
            tickets_rejected: st.rejected.clone(),
            winning_tickets: st.winners,
            redeemed: st.redeemed,
            redeem_failed: st.redeem_failed,
            pending,
            calibration_redemptions: st.calibration_redemptions,
            gas_used_total: st.gas_used_total,
            gas_per_redemption: st.gas_success_total.checked_div(st.gas_success_count),
            fees_debited_wei: st.fees_debited_wei.to_string(),
            face_value_redeemed_wei: st.face_value_redeemed_wei.to_string(),
            chain: self.shared.chain_summary.clone(),
            earlier_runs_redeemed: st.earlier_redeemed,
            payment_work_seconds: st.work.as_secs_f64(),
            calibration_note,
        })
    }

    /// Issues, persists and redeems [`CALIBRATION_TICKETS`] always-winning tickets from the
    /// first sender (a fresh funded one when the run had no session).
    fn calibrate(&mut self) -> Result<(), PaymentsError> {
        let key = match self.senders.first() {
            Some(k) => k.clone(),
            None => {
                let k = Key::random()?;
                let mut chain = lock(&self.shared.chain)?;
                fund_sender(
                    chain.as_mut(),
                    &k,
                    self.sender_deposit_wei,
                    self.sender_reserve_wei,
                )?;
                k
            }
        };
        // Issue nothing against a chain that does not answer.
        lock(&self.shared.chain)?
            .block_number()
            .map_err(chain_err("checking the chain before calibration"))?;
        let view = self.shared.refresh_view(&[key.address()], true)?;
        let sv = self.shared.sender_view(&view, key.address());
        {
            // A run with no segment still reports the parameters a sender would have got.
            let mut st = lock(&self.shared.stats)?;
            if st.last_params.is_none() {
                if let Ok(p) =
                    self.shared
                        .recipient
                        .ticket_params(key.address(), view.block, &view.round, &sv)
                {
                    st.last_params = Some((p.face_value_wei, p.win_prob));
                }
            }
        }
        let params = self.shared.recipient.calibration_params(
            key.address(),
            view.block,
            &view.round,
            &sv,
        )?;
        let mut sender = Sender::new(key.clone(), sv.funds.deposit);
        let tickets = sender.sign_batch(&params, CALIBRATION_TICKETS)?;
        let rand = self.shared.recipient.rand_for(key.address(), &params);
        let payment = Payment {
            sender: key.address(),
            ticket_params: params.clone(),
            tickets: Vec::new(),
            expected_price: params.price,
        };
        for tsp in &tickets {
            let entry = QueuedTicket::pending(
                payment.ticket(tsp),
                tsp.sig.to_vec(),
                rand,
                true,
                self.shared.chain_id,
                self.shared.broker,
            );
            self.shared.queue.enqueue(&entry)?;
            if let Redemption::LeftPending(e) = self.shared.redeem(&entry, false)? {
                return Err(PaymentsError::Calibration(format!(
                    "a calibration ticket could not be redeemed and stays pending ({e})"
                )));
            }
        }
        Ok(())
    }
}

impl Drop for PaymentRun {
    fn drop(&mut self) {
        // Dropped without `finish` (an aborted run): let the redeemer finish what it has. The
        // queue on disk keeps anything it cannot.
        self.shared.closing.store(true, Ordering::SeqCst);
        if let Some((tx, handle)) = self.redeemer.take() {
            drop(tx);
            let _ = handle.join();
        }
    }
}

/// Tops `key`'s deposit and reserve on the broker up to the targets (nothing when they are
/// already there, so a reused key is not charged again).
fn fund_sender(
    chain: &mut dyn Chain,
    key: &Key,
    deposit: U256,
    reserve: U256,
) -> Result<(), PaymentsError> {
    let have = chain
        .sender_funds(key.address())
        .map_err(chain_err("reading a sender's funds"))?;
    let add_deposit = deposit.saturating_sub(have.deposit);
    let add_reserve = reserve.saturating_sub(have.reserve);
    if add_deposit.is_zero() && add_reserve.is_zero() {
        return Ok(());
    }
    let outcome = chain
        .fund_deposit_and_reserve(&key.secret_bytes(), add_deposit, add_reserve)
        .map_err(chain_err("funding a sender's deposit and reserve"))?;
    if let Some(reason) = outcome.revert_reason {
        return Err(PaymentsError::Funding {
            sender: key.address(),
            reason,
        });
    }
    Ok(())
}

/// One session's payer: the broadcaster and this session's view of the orchestrator. `Send`.
pub struct SessionPayer {
    shared: Arc<Shared>,
    winners: Option<mpsc::Sender<QueuedTicket>>,
    session: u32,
    sender: Sender,
}

impl std::fmt::Debug for SessionPayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPayer")
            .field("session", &self.session)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// Sends a message the way the network would: serialised, then parsed on the other side.
fn over_the_wire<T: Serialize + for<'de> Deserialize<'de>>(msg: &T) -> Result<T, PaymentsError> {
    let bytes = serde_json::to_vec(msg).map_err(|e| PaymentsError::Message(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| PaymentsError::Message(e.to_string()))
}

impl SessionPayer {
    pub fn session(&self) -> u32 {
        self.session
    }

    pub fn sender_address(&self) -> Address {
        self.sender.key().address()
    }

    /// Asks the orchestrator for fresh parameters and hands them to the broadcaster.
    fn fetch_params(&mut self, view: &ChainView) -> Result<TicketParams, PaymentsError> {
        let addr = self.sender.key().address();
        let sv = self.shared.sender_view(view, addr);
        let params = self
            .shared
            .recipient
            .ticket_params(addr, view.block, &view.round, &sv)?;
        let params = over_the_wire(&params)?;
        self.sender.set_deposit_wei(sv.funds.deposit);
        self.sender.update_params(params.clone(), view.block)?;
        lock(&self.shared.stats)?.last_params = Some((params.face_value_wei, params.win_prob));
        Ok(params)
    }

    /// Before transcoding: the broadcaster gets parameters if it has none (or they expire),
    /// estimates the fee, signs tickets; the orchestrator validates them, persists winners and
    /// acknowledges. Errors mean the segment must not be transcoded.
    pub fn pay_segment(
        &mut self,
        renditions: &[RenditionSpec],
        segment_seconds: f64,
    ) -> Result<SegmentPayment, PaymentsError> {
        let started = Instant::now();
        let result = self.pay_segment_timed(renditions, segment_seconds);
        self.add_work(started)?;
        result
    }

    fn add_work(&self, started: Instant) -> Result<(), PaymentsError> {
        let mut st = lock(&self.shared.stats)?;
        st.work = st.work.saturating_add(started.elapsed());
        Ok(())
    }

    fn pay_segment_timed(
        &mut self,
        renditions: &[RenditionSpec],
        segment_seconds: f64,
    ) -> Result<SegmentPayment, PaymentsError> {
        let addr = self.sender.key().address();
        let view = self.shared.refresh_view(&[addr], false)?;
        if self.sender.params().is_none() {
            self.fetch_params(&view)?;
        }
        let bill = match self
            .sender
            .pay_segment(renditions, segment_seconds, view.block)
        {
            Err(SenderError::Refused(super::params::ParamsRefusal::Expiring { .. })) => {
                self.fetch_params(&view)?;
                self.sender
                    .pay_segment(renditions, segment_seconds, view.block)?
            }
            other => other?,
        };
        let payment = over_the_wire(&bill.payment)?;
        let sv = self.shared.sender_view(&view, addr);
        let verdict =
            self.shared
                .recipient
                .receive_payment(self.session, &payment, view.block, &sv)?;

        // A winner is money: on disk (fsync'd) before the payment is acknowledged.
        persist_winners(
            &self.shared.queue,
            &verdict.winners,
            self.shared.chain_id,
            self.shared.broker,
            |entry| {
                if let Some(tx) = &self.winners {
                    // If the redeemer is gone the ticket stays pending on disk for `finish`.
                    let _ = tx.send(entry);
                }
            },
        )?;
        let rejected: u32 = verdict.rejected.values().sum();
        {
            let mut st = lock(&self.shared.stats)?;
            st.tickets_sent += payment.tickets.len() as u64;
            st.tickets_valid += u64::from(verdict.valid);
            st.winners += verdict.winners.len() as u64;
            for (reason, n) in &verdict.rejected {
                *st.rejected.entry((*reason).to_string()).or_insert(0) += u64::from(*n);
            }
        }
        let ev = payment.ticket_params.ev_wei();
        let rejected_text = if verdict.rejected.is_empty() {
            "none".into()
        } else {
            verdict
                .rejected
                .iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if verdict.balance_wei < super::recipient::to_signed(ev) {
            return Err(PaymentsError::InsufficientBalance {
                session: self.session,
                balance_wei: verdict.balance_wei,
                ev_wei: ev,
                rejected: rejected_text,
            });
        }
        if let Some(reason) = verdict.failed {
            return Err(PaymentsError::PaymentFailed {
                session: self.session,
                reason,
                rejected: rejected_text,
            });
        }
        Ok(SegmentPayment {
            tickets: payment.tickets.len() as u32,
            tickets_valid: verdict.valid,
            tickets_rejected: rejected,
            winners: verdict.winners.len() as u32,
            fee_estimate_wei: bill.fee_estimate_wei,
            balance_wei: verdict.balance_wei,
        })
    }

    /// After transcoding: debits price × output pixels from the session's balance (both the
    /// orchestrator's and the broadcaster's books) and returns the fee, wei. The orchestrator
    /// then hands out fresh parameters for the next segment, as go-livepeer does with each
    /// segment's response.
    pub fn debit(&mut self, output_pixels: u64) -> Result<U256, PaymentsError> {
        let started = Instant::now();
        let result = self.debit_timed(output_pixels);
        self.add_work(started)?;
        result
    }

    fn debit_timed(&mut self, output_pixels: u64) -> Result<U256, PaymentsError> {
        let (num, denom) = self.shared.price.reduced();
        let fee = U256::from(output_pixels)
            .saturating_mul(num)
            .div_ceil(denom);
        self.shared.recipient.debit(self.session, fee)?;
        self.sender.debit(fee);
        {
            let mut st = lock(&self.shared.stats)?;
            st.fees_debited_wei = st.fees_debited_wei.saturating_add(fee);
        }
        let view = self
            .shared
            .refresh_view(&[self.sender.key().address()], false)?;
        if self.fetch_params(&view).is_err() {
            // pay_segment asks again and reports the reason if it still fails.
            self.sender.clear_params();
        }
        Ok(fee)
    }
}

/// Redeems every pending winner in `data_dir` on `chain` (for `rigbench redeem`).
pub fn redeem_pending(
    data_dir: &Path,
    chain: &mut dyn Chain,
) -> Result<RedeemReport, PaymentsError> {
    let queue = RedemptionQueue::open(data_dir)?;
    redeem_pending_with(&queue, chain, &RetryPolicy::default())
}

/// [`redeem_pending`] with a given queue and retry policy. Stops trying after the first
/// winner the chain cannot take (unreachable or refusing), leaving the rest pending.
pub fn redeem_pending_with(
    queue: &RedemptionQueue,
    chain: &mut dyn Chain,
    policy: &RetryPolicy,
) -> Result<RedeemReport, PaymentsError> {
    let mut report = RedeemReport::default();
    let (mut success_gas, mut success_count) = (0u64, 0u64);
    let mut stopped = false;
    for entry in queue.pending()? {
        if stopped {
            report.pending += 1;
            continue;
        }
        let (outcome, entry) = redeem_entry(queue, &entry, policy, |f| f(chain))?;
        match outcome {
            Redemption::Redeemed(tx) => {
                report.gas_used_total = report.gas_used_total.saturating_add(tx.gas_used);
                success_gas = success_gas.saturating_add(tx.gas_used);
                success_count += 1;
                if entry.calibration {
                    report.calibration += 1;
                } else {
                    report.redeemed += 1;
                    report.face_value_redeemed_wei = report
                        .face_value_redeemed_wei
                        .saturating_add(entry.ticket.face_value_wei);
                }
            }
            Redemption::Reverted(tx) => {
                report.failed += 1;
                report.gas_used_total = report.gas_used_total.saturating_add(tx.gas_used);
            }
            Redemption::AlreadyUsed => report.already_used += 1,
            Redemption::NotPending(_) => {}
            Redemption::OtherChain => report.other_chain += 1,
            Redemption::LeftPending(err) => {
                report.pending += 1;
                report.last_error = Some(err);
                stopped = true;
            }
        }
    }
    report.gas_mean(success_gas, success_count);
    Ok(report)
}

/// Persists a payment's winners, each fsync'd as a pending ticket of `broker` on `chain_id`
/// before the payment is acknowledged, handing each persisted entry to `then` (the redeemer's
/// channel, say). Stops at the first that cannot be written. The run's payer and the
/// orchestrator's recipient both use it.
pub fn persist_winners(
    queue: &RedemptionQueue,
    winners: &[super::recipient::Winner],
    chain_id: u64,
    broker: Address,
    mut then: impl FnMut(QueuedTicket),
) -> Result<(), QueueError> {
    for w in winners {
        let entry = QueuedTicket::pending(
            w.ticket.clone(),
            w.sig.clone(),
            w.recipient_rand,
            false,
            chain_id,
            broker,
        );
        queue.enqueue(&entry)?;
        then(entry);
    }
    Ok(())
}
