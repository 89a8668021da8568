//! The durable redemption queue: a winning ticket is money, so each one is written to its own
//! file in the data directory and fsync'd (file and directory) before the payment that carried
//! it is acknowledged. States move pending → redeemed | failed and are rewritten atomically
//! (write a temporary file, fsync, rename, fsync the directory).
//!
//! Never twice: a ticket is only sent when its persisted state is pending and the broker does
//! not already list its hash as used (a crash between the transaction and the state update is
//! caught by the latter). Unreachable chains are retried with bounded exponential backoff, then
//! left pending for `rigbench redeem`; nothing is ever deleted.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy_primitives::{Address, Bytes, B256, U256};
use serde::{Deserialize, Serialize};

use super::ticket::Ticket;
use crate::chain::{Chain, ChainError, TxOutcome};

/// Sub-directory of the data directory that holds one JSON file per winning ticket.
pub const TICKETS_DIR: &str = "tickets";

/// Where a persisted winner stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// Persisted, not redeemed yet.
    Pending,
    /// Redeemed on chain (or found already used there).
    Redeemed,
    /// The redemption transaction was mined and reverted; the reason is kept.
    Failed,
}

/// One persisted winning ticket and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedTicket {
    pub ticket_hash: B256,
    pub state: TicketState,
    /// A win-probability-1 ticket made only to measure gas; not revenue.
    pub calibration: bool,
    /// Chain and broker the ticket was issued for; it is only redeemed there.
    pub chain_id: u64,
    pub broker: Address,
    pub ticket: Ticket,
    /// 65 bytes r ‖ s ‖ v.
    pub sig: Bytes,
    pub recipient_rand: U256,
    pub queued_unix_seconds: u64,
    /// Redemption attempts that reached (or tried to reach) the chain.
    pub attempts: u32,
    pub tx_hash: Option<B256>,
    pub gas_used: Option<u64>,
    pub gas_price_wei: Option<u128>,
    /// Revert reason of a failed redemption, or how a redeemed one was found.
    pub reason: Option<String>,
    /// The last error that kept it pending (chain unreachable, request refused).
    pub last_error: Option<String>,
}

impl QueuedTicket {
    /// A fresh pending entry.
    pub fn pending(
        ticket: Ticket,
        sig: Vec<u8>,
        recipient_rand: U256,
        calibration: bool,
        chain_id: u64,
        broker: Address,
    ) -> QueuedTicket {
        QueuedTicket {
            ticket_hash: ticket.hash(),
            state: TicketState::Pending,
            calibration,
            chain_id,
            broker,
            ticket,
            sig: Bytes::from(sig),
            recipient_rand,
            queued_unix_seconds: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            attempts: 0,
            tx_hash: None,
            gas_used: None,
            gas_price_wei: None,
            reason: None,
            last_error: None,
        }
    }
}

/// Errors of the queue's storage.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("redemption queue: cannot {action} {path}: {source}; check the data directory's permissions and free space")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("redemption queue: {path} is not a valid ticket record ({detail}); it was left in place, move it away to continue")]
    Corrupt { path: PathBuf, detail: String },
    #[error("redemption queue: ticket {0} is already persisted; a winner is never queued twice")]
    Duplicate(B256),
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> QueueError + 'a {
    move |source| QueueError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The queue in `data_dir/tickets/`.
#[derive(Debug, Clone)]
pub struct RedemptionQueue {
    dir: PathBuf,
}

impl RedemptionQueue {
    /// Opens (creating it, durably) the queue under `data_dir`.
    pub fn open(data_dir: &Path) -> Result<RedemptionQueue, QueueError> {
        let dir = data_dir.join(TICKETS_DIR);
        fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        sync_dir(data_dir)?;
        Ok(RedemptionQueue { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, hash: &B256) -> PathBuf {
        self.dir.join(format!("{hash:x}.json"))
    }

    /// Persists a new winner durably; refuses one already present (whatever its state).
    pub fn enqueue(&self, entry: &QueuedTicket) -> Result<(), QueueError> {
        if self.path_of(&entry.ticket_hash).exists() {
            return Err(QueueError::Duplicate(entry.ticket_hash));
        }
        self.write(entry)
    }

    /// Rewrites an entry atomically and durably.
    pub fn write(&self, entry: &QueuedTicket) -> Result<(), QueueError> {
        let path = self.path_of(&entry.ticket_hash);
        let tmp = self.dir.join(format!(".{:x}.json.tmp", entry.ticket_hash));
        let bytes = serde_json::to_vec_pretty(entry).map_err(|e| QueueError::Corrupt {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)
                .map_err(io("create", &tmp))?;
            f.write_all(&bytes).map_err(io("write", &tmp))?;
            f.sync_all().map_err(io("fsync", &tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io("rename into place", &path))?;
        sync_dir(&self.dir)
    }

    /// Reads one entry.
    pub fn load(&self, hash: &B256) -> Result<Option<QueuedTicket>, QueueError> {
        let path = self.path_of(hash);
        if !path.exists() {
            return Ok(None);
        }
        read_entry(&path).map(Some)
    }

    /// Every entry, oldest first. Unreadable files are errors (never skipped silently).
    pub fn all(&self) -> Result<Vec<QueuedTicket>, QueueError> {
        let mut out = Vec::new();
        for item in fs::read_dir(&self.dir).map_err(io("list", &self.dir))? {
            let item = item.map_err(io("list", &self.dir))?;
            let path = item.path();
            let is_record = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".json") && !n.starts_with('.'));
            if is_record {
                out.push(read_entry(&path)?);
            }
        }
        out.sort_by(|a, b| {
            (a.queued_unix_seconds, a.ticket_hash).cmp(&(b.queued_unix_seconds, b.ticket_hash))
        });
        Ok(out)
    }

    /// Entries still pending.
    pub fn pending(&self) -> Result<Vec<QueuedTicket>, QueueError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|e| e.state == TicketState::Pending)
            .collect())
    }
}

fn read_entry(path: &Path) -> Result<QueuedTicket, QueueError> {
    let bytes = fs::read(path).map_err(io("read", path))?;
    serde_json::from_slice(&bytes).map_err(|e| QueueError::Corrupt {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// fsync a directory so a new or renamed entry in it survives a crash.
fn sync_dir(dir: &Path) -> Result<(), QueueError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync directory", dir))
}

/// How winners are redeemed: bounded retries for an unreachable chain (`tries` attempts,
/// sleeping `initial_backoff`, then twice as long each time, between them), and go-livepeer's
/// hold on winners not worth redeeming at the current gas price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub tries: u32,
    pub initial_backoff: Duration,
    /// txCost now (redeem-gas estimate × gas price), wei: a winner whose face value is at or
    /// below it is kept pending, waiting for cheaper gas (0 = no hold).
    pub tx_cost_wei: U256,
}

impl Default for RetryPolicy {
    /// 5 tries, 0.2 s doubling: about 3 s of waiting at most per ticket; no gas hold.
    fn default() -> Self {
        RetryPolicy {
            tries: 5,
            initial_backoff: Duration::from_millis(200),
            tx_cost_wei: U256::ZERO,
        }
    }
}

/// Why a winner waits instead of being redeemed now: its face value is at or below the current
/// txCost, so redeeming it would cost at least what it pays (go-livepeer keeps it pending).
pub fn hold_reason(face_value_wei: U256, tx_cost_wei: U256) -> Option<String> {
    (!tx_cost_wei.is_zero() && face_value_wei <= tx_cost_wei).then(|| {
        format!("held: face value {face_value_wei} wei is at or below the current txCost {tx_cost_wei} wei; redeeming would cost what it pays, so it waits for cheaper gas (`rigbench redeem` later)")
    })
}

/// What one redemption attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// Mined and succeeded.
    Redeemed(TxOutcome),
    /// Mined and reverted (gas was spent and measured).
    Reverted(TxOutcome),
    /// The broker already lists the hash as used: marked redeemed without a new transaction.
    AlreadyUsed,
    /// Not pending any more (someone else finished it); nothing sent.
    NotPending(TicketState),
    /// Issued for another chain or broker; left pending for that chain.
    OtherChain,
    /// The chain could not be reached (after retries) or refused the request; left pending.
    LeftPending(String),
}

/// Redeems one pending entry on `chain`, updating its persisted state. `lock_chain` gives
/// access to the chain for one call at a time (so other threads may use it between retries).
pub fn redeem_entry<F>(
    queue: &RedemptionQueue,
    entry: &QueuedTicket,
    policy: &RetryPolicy,
    mut with_chain: F,
) -> Result<(Redemption, QueuedTicket), QueueError>
where
    F: FnMut(
        &mut dyn FnMut(&mut dyn Chain) -> Result<ChainStep, ChainError>,
    ) -> Result<ChainStep, ChainError>,
{
    // The persisted state is the authority: re-read it.
    let mut entry = match queue.load(&entry.ticket_hash)? {
        Some(e) => e,
        None => entry.clone(),
    };
    if entry.state != TicketState::Pending {
        let state = entry.state;
        return Ok((Redemption::NotPending(state), entry));
    }
    if let Some(why) = hold_reason(entry.ticket.face_value_wei, policy.tx_cost_wei) {
        entry.last_error = Some(why.clone());
        queue.write(&entry)?;
        return Ok((Redemption::LeftPending(why), entry));
    }
    let call = entry.ticket.to_call(&entry.sig, entry.recipient_rand);
    let hash = entry.ticket_hash;
    let (chain_id, broker) = (entry.chain_id, entry.broker);
    let mut backoff = policy.initial_backoff;
    let mut last_error = String::new();
    for attempt in 0..policy.tries.max(1) {
        if attempt > 0 {
            std::thread::sleep(backoff);
            backoff = backoff.saturating_mul(2);
        }
        let step = with_chain(&mut |chain: &mut dyn Chain| {
            if chain.chain_id() != chain_id || chain.broker() != broker {
                return Ok(ChainStep::OtherChain);
            }
            if chain.is_ticket_used(hash)? {
                return Ok(ChainStep::AlreadyUsed);
            }
            chain.redeem_winning_ticket(&call).map(ChainStep::Mined)
        });
        match step {
            Ok(ChainStep::OtherChain) => return Ok((Redemption::OtherChain, entry)),
            Ok(ChainStep::AlreadyUsed) => {
                entry.state = TicketState::Redeemed;
                entry.reason = Some(
                    "the broker already lists this ticket as used (an earlier attempt was mined before its result was recorded)"
                        .into(),
                );
                queue.write(&entry)?;
                return Ok((Redemption::AlreadyUsed, entry));
            }
            Ok(ChainStep::Mined(outcome)) => {
                entry.attempts += 1;
                entry.tx_hash = Some(outcome.tx_hash);
                entry.gas_used = Some(outcome.gas_used);
                entry.gas_price_wei = Some(outcome.gas_price_wei);
                entry.last_error = None;
                let result = match &outcome.revert_reason {
                    None => {
                        entry.state = TicketState::Redeemed;
                        Redemption::Redeemed(outcome.clone())
                    }
                    Some(reason) => {
                        entry.state = TicketState::Failed;
                        entry.reason = Some(reason.clone());
                        Redemption::Reverted(outcome.clone())
                    }
                };
                queue.write(&entry)?;
                return Ok((result, entry));
            }
            Err(e) => {
                entry.attempts += 1;
                last_error = e.to_string();
                if !e.is_retryable() {
                    break;
                }
            }
        }
    }
    entry.last_error = Some(last_error.clone());
    queue.write(&entry)?;
    Ok((Redemption::LeftPending(last_error), entry))
}

/// The outcome of the part of a redemption that runs with the chain in hand.
#[derive(Debug)]
pub enum ChainStep {
    OtherChain,
    AlreadyUsed,
    Mined(TxOutcome),
}

/// Redeems one entry with exclusive use of `chain` (no other thread needs it meanwhile).
pub fn redeem_entry_on(
    queue: &RedemptionQueue,
    entry: &QueuedTicket,
    policy: &RetryPolicy,
    chain: &mut dyn Chain,
) -> Result<(Redemption, QueuedTicket), QueueError> {
    redeem_entry(queue, entry, policy, |f| f(chain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_reason_table() {
        let u = U256::from;
        // (face value, txCost, held)
        let cases = [
            (1_200_000_000_000_000u64, 12_000_000_000_000u64, false),
            (12_000_000_000_000, 12_000_000_000_000, true),
            (11_000_000_000_000, 12_000_000_000_000, true),
            (1, 0, false),
        ];
        for (fv, tx, held) in cases {
            assert_eq!(hold_reason(u(fv), u(tx)).is_some(), held, "{fv} {tx}");
        }
    }

    #[test]
    fn a_winner_at_or_below_tx_cost_stays_pending_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let queue = RedemptionQueue::open(dir.path()).unwrap();
        let ticket = Ticket {
            recipient: Address::repeat_byte(1),
            sender: Address::repeat_byte(2),
            face_value_wei: U256::from(1000u64),
            win_prob: U256::MAX,
            sender_nonce: 1,
            recipient_rand_hash: B256::ZERO,
            creation_round: U256::ZERO,
            creation_round_block_hash: B256::ZERO,
        };
        let entry = QueuedTicket::pending(ticket, vec![0; 65], U256::ZERO, false, 1, Address::ZERO);
        queue.enqueue(&entry).unwrap();
        let policy = RetryPolicy {
            tx_cost_wei: U256::from(1000u64),
            ..RetryPolicy::default()
        };
        let (outcome, after) = redeem_entry(&queue, &entry, &policy, |_| {
            panic!("a held winner must not reach the chain")
        })
        .unwrap();
        assert!(matches!(outcome, Redemption::LeftPending(ref why) if why.contains("txCost")));
        assert_eq!(after.state, TicketState::Pending);
        let stored = queue.load(&entry.ticket_hash).unwrap().unwrap();
        assert!(stored.last_error.unwrap().contains("cheaper gas"));
    }
}
