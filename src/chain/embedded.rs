//! The embedded chain (the default): an in-process EVM (revm) that deploys the TicketBroker and
//! executes funding and redemptions as real transactions, so gas is measured by the EVM itself
//! (intrinsic gas and refunds included), with no node and no network.
//!
//! How it stands in for a chain:
//! - chain id [`EMBEDDED_CHAIN_ID`] (1337, the usual development chain id); hard fork Prague;
//! - one block per transaction, [`EmbeddedConfig::block_time_seconds`] apart; base fee 0, so the
//!   effective gas price is [`EmbeddedConfig::gas_price_wei`];
//! - block hashes (for `BLOCKHASH` and the broker's round hashes) are a hash chain over
//!   (parent hash, number, transaction hash): unique and unpredictable before the block, not real
//!   header hashes; transaction hashes hash (chain id, caller, nonce, target, value, data);
//! - accounts are credited directly in state when they lack ether for a transaction (a faucet):
//!   senders get what `fundDepositAndReserve` needs, the recipient what a redemption's gas costs;
//! - with a state directory ([`EmbeddedChain::open_or_create`]), the whole state (accounts,
//!   storage, code, block number and the last 256 block hashes) is saved after every transaction
//!   (temp file, fsync, rename), so winners left pending by a crashed run can be redeemed later.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use revm::bytecode::Bytecode;
use revm::context::result::ExecutionResult;
use revm::context::{Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::database_interface::DatabaseRef;
use revm::primitives::hardfork::SpecId;
use revm::primitives::TxKind;
use revm::state::AccountInfo;
use revm::{ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext};

use super::broker::{self, TicketBroker};
use super::{Chain, ChainError, RoundInfo, SenderFunds, TicketCall, TxOutcome};

/// The embedded chain's id (a development chain id, as anvil's and hardhat's).
pub const EMBEDDED_CHAIN_ID: u64 = 1337;
/// File the state is kept in, inside the directory given to [`EmbeddedChain::open_or_create`].
pub const STATE_FILE_NAME: &str = "embedded-chain.json";
/// Version of the state file's format.
const STATE_FORMAT: u32 = 1;
/// Gas limit of each call transaction (a redemption uses well under 200k).
const CALL_GAS_LIMIT: u64 = 2_000_000;
/// Gas limit of the deployment.
const DEPLOY_GAS_LIMIT: u64 = 10_000_000;
/// Block hashes the EVM can see (`BLOCKHASH` covers the last 256 blocks).
const BLOCK_HASH_WINDOW: u64 = 256;

/// How the embedded chain is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedConfig {
    /// Blocks per broker round (Livepeer: 5760).
    pub round_length_blocks: u64,
    /// Orchestrators sharing each sender's reserve (Livepeer's active set: 100).
    pub active_set_size: u64,
    /// Gas price of every transaction, wei.
    pub gas_price_wei: u128,
    /// Seconds between blocks (block timestamps only).
    pub block_time_seconds: u64,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        EmbeddedConfig {
            round_length_blocks: broker::DEFAULT_ROUND_LENGTH_BLOCKS,
            active_set_size: broker::DEFAULT_ACTIVE_SET_SIZE,
            gas_price_wei: 1_000_000_000,
            block_time_seconds: 12,
        }
    }
}

/// The TicketBroker on an in-process EVM. See the module docs.
pub struct EmbeddedChain {
    cfg: EmbeddedConfig,
    db: CacheDB<EmptyDB>,
    block_number: u64,
    timestamp_seconds: u64,
    block_hashes: BTreeMap<u64, B256>,
    broker: Address,
    state_path: Option<PathBuf>,
}

impl std::fmt::Debug for EmbeddedChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedChain")
            .field("broker", &self.broker)
            .field("block_number", &self.block_number)
            .field("state_path", &self.state_path)
            .finish()
    }
}

/// The account that deploys the broker and sends round initialisations.
pub fn deployer_address() -> Address {
    Address::from_slice(&keccak256(b"rigbench embedded chain deployer")[12..])
}

const GENESIS_TIMESTAMP_SECONDS: u64 = 1_700_000_000;

impl EmbeddedChain {
    /// A fresh chain in memory, with the broker deployed in block 1. Nothing is saved.
    pub fn new(cfg: EmbeddedConfig) -> Result<Self, ChainError> {
        let mut chain = EmbeddedChain {
            db: CacheDB::new(EmptyDB::default()),
            block_number: 0,
            timestamp_seconds: GENESIS_TIMESTAMP_SECONDS,
            block_hashes: BTreeMap::new(),
            broker: Address::ZERO,
            state_path: None,
            cfg,
        };
        let genesis = keccak256(
            [
                b"rigbench embedded genesis".as_slice(),
                &EMBEDDED_CHAIN_ID.to_be_bytes(),
            ]
            .concat(),
        );
        chain.block_hashes.insert(0, genesis);
        let code = broker::deploy_code(chain.cfg.round_length_blocks, chain.cfg.active_set_size)?;
        let deployer = deployer_address();
        let (result, _) =
            chain.execute(deployer, TxKind::Create, U256::ZERO, code, DEPLOY_GAS_LIMIT)?;
        match result {
            ExecutionResult::Success { .. } => {}
            other => {
                return Err(ChainError::Rejected(format!(
                    "deploying the TicketBroker on the embedded EVM failed: {}",
                    describe_failure(&other)
                )))
            }
        }
        chain.broker = deployer.create(0);
        Ok(chain)
    }

    /// The chain saved in `dir` (see [`STATE_FILE_NAME`]), or a fresh one that is saved there
    /// from now on. A saved chain must have been made with the same round length and active set
    /// size (they are fixed in the deployed broker); the gas price and block time may change.
    pub fn open_or_create(dir: &Path, cfg: EmbeddedConfig) -> Result<Self, ChainError> {
        fs::create_dir_all(dir).map_err(|e| {
            ChainError::Rejected(format!(
                "cannot create the embedded chain's directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(STATE_FILE_NAME);
        if path.exists() {
            let mut chain = Self::load(&path, cfg)?;
            chain.state_path = Some(path);
            return Ok(chain);
        }
        let mut chain = Self::new(cfg)?;
        chain.state_path = Some(path);
        chain.save()?;
        Ok(chain)
    }

    /// Where the state is saved, if anywhere.
    pub fn state_path(&self) -> Option<&Path> {
        self.state_path.as_deref()
    }

    /// The settings the chain runs with.
    pub fn config(&self) -> &EmbeddedConfig {
        &self.cfg
    }

    /// Ether an account holds, wei.
    pub fn balance_wei(&self, account: Address) -> U256 {
        self.db
            .basic_ref(account)
            .ok()
            .flatten()
            .map(|a| a.balance)
            .unwrap_or_default()
    }

    /// Mines `blocks` empty blocks (to move rounds on, e.g. to let tickets expire).
    pub fn mine_blocks(&mut self, blocks: u64) -> Result<(), ChainError> {
        for _ in 0..blocks {
            self.begin_block();
            let number = self.block_number;
            self.seal_block(B256::ZERO, number);
        }
        self.save()
    }

    /// `unlock()` sent from the account of `sender_secret`.
    pub fn unlock(&mut self, sender_secret: &B256) -> Result<TxOutcome, ChainError> {
        let data = TicketBroker::unlockCall {}.abi_encode().into();
        self.call_broker(sender_secret, U256::ZERO, data)
    }

    /// Any broker call (calldata from [`broker::TicketBroker`]) sent with `value_wei` from the
    /// account of `secret`, which is credited what the call and its gas need.
    pub fn call_broker(
        &mut self,
        secret: &B256,
        value_wei: U256,
        data: Bytes,
    ) -> Result<TxOutcome, ChainError> {
        let from = broker::address_of_secret(secret)?;
        self.transact(from, self.broker, value_wei, data)
    }

    /// `batchRedeemWinningTickets` sent by the first ticket's recipient; failing tickets are
    /// skipped by the broker, so check each with [`Chain::is_ticket_used`] afterwards.
    pub fn batch_redeem_winning_tickets(
        &mut self,
        calls: &[TicketCall],
    ) -> Result<TxOutcome, ChainError> {
        let Some(first) = calls.first() else {
            return Err(ChainError::Rejected(
                "batch redemption of no tickets".to_string(),
            ));
        };
        let caller = first.recipient;
        self.transact(
            caller,
            self.broker,
            U256::ZERO,
            broker::batch_redeem_calldata(calls),
        )
    }

    /// The broker's own `getTicketHash(ticket)`, to check a ticket hash against the contract.
    pub fn ticket_hash_on_chain(&mut self, call: &TicketCall) -> Result<B256, ChainError> {
        self.view(TicketBroker::getTicketHashCall {
            _ticket: broker::ticket_tuple(call),
        })
    }

    // ------------------------------------------------------------------ transactions

    fn begin_block(&mut self) {
        self.block_number += 1;
        self.timestamp_seconds += self.cfg.block_time_seconds;
    }

    fn seal_block(&mut self, tx_hash: B256, number: u64) {
        let parent = self
            .block_hashes
            .get(&(number - 1))
            .copied()
            .unwrap_or_default();
        let hash =
            keccak256([parent.as_slice(), &number.to_be_bytes(), tx_hash.as_slice()].concat());
        self.block_hashes.insert(number, hash);
        self.db.cache.block_hashes.insert(U256::from(number), hash);
        while self.block_hashes.len() as u64 > BLOCK_HASH_WINDOW + 1 {
            if let Some((&oldest, _)) = self.block_hashes.iter().next() {
                self.block_hashes.remove(&oldest);
                self.db.cache.block_hashes.remove(&U256::from(oldest));
            }
        }
    }

    /// Credits `account` so it holds at least `needed_wei` (the embedded faucet).
    fn ensure_balance(&mut self, account: Address, needed_wei: U256) {
        let info = self
            .db
            .basic_ref(account)
            .ok()
            .flatten()
            .unwrap_or_default();
        if info.balance < needed_wei {
            self.db.insert_account_info(
                account,
                AccountInfo {
                    balance: needed_wei,
                    ..info
                },
            );
        }
    }

    fn nonce_of(&self, account: Address) -> u64 {
        self.db
            .basic_ref(account)
            .ok()
            .flatten()
            .map(|a| a.nonce)
            .unwrap_or(0)
    }

    /// Runs one transaction in a new block and commits it; returns the EVM's result and the
    /// transaction hash.
    fn execute(
        &mut self,
        caller: Address,
        kind: TxKind,
        value: U256,
        data: Bytes,
        gas_limit: u64,
    ) -> Result<(ExecutionResult, B256), ChainError> {
        let gas_price = self.cfg.gas_price_wei;
        let gas_cost = U256::from(gas_limit) * U256::from(gas_price);
        self.ensure_balance(caller, value + gas_cost);
        let nonce = self.nonce_of(caller);
        let to = match kind {
            TxKind::Call(a) => a,
            TxKind::Create => Address::ZERO,
        };
        let tx_hash = keccak256(
            [
                EMBEDDED_CHAIN_ID.to_be_bytes().as_slice(),
                caller.as_slice(),
                &nonce.to_be_bytes(),
                to.as_slice(),
                &value.to_be_bytes::<32>(),
                &data,
            ]
            .concat(),
        );
        let tx = TxEnv::builder()
            .caller(caller)
            .kind(kind)
            .value(value)
            .data(data)
            .nonce(nonce)
            .gas_limit(gas_limit)
            .gas_price(gas_price)
            .chain_id(Some(EMBEDDED_CHAIN_ID))
            .build()
            .map_err(|e| ChainError::Rejected(format!("embedded EVM: bad transaction: {e:?}")))?;

        self.begin_block();
        let number = self.block_number;
        let timestamp = self.timestamp_seconds;
        let result = {
            let mut evm = Context::mainnet()
                .with_db(&mut self.db)
                .modify_cfg_chained(|c| {
                    c.set_spec_and_mainnet_gas_params(SpecId::PRAGUE);
                    c.chain_id = EMBEDDED_CHAIN_ID;
                })
                .modify_block_chained(|b| {
                    b.number = U256::from(number);
                    b.timestamp = U256::from(timestamp);
                    b.basefee = 0;
                    b.gas_limit = 30_000_000;
                    b.prevrandao = Some(keccak256(number.to_be_bytes()));
                })
                .build_mainnet();
            evm.transact_commit(tx)
        };
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                // Nothing was executed: undo the block.
                self.block_number -= 1;
                self.timestamp_seconds -= self.cfg.block_time_seconds;
                return Err(ChainError::Rejected(format!(
                    "embedded EVM refused the transaction: {e}"
                )));
            }
        };
        self.seal_block(tx_hash, number);
        Ok((result, tx_hash))
    }

    /// Sends a call transaction, saves the state, and reports it.
    fn transact(
        &mut self,
        caller: Address,
        to: Address,
        value: U256,
        data: Bytes,
    ) -> Result<TxOutcome, ChainError> {
        let (result, tx_hash) =
            self.execute(caller, TxKind::Call(to), value, data, CALL_GAS_LIMIT)?;
        let revert_reason = match &result {
            ExecutionResult::Success { .. } => None,
            other => Some(describe_failure(other)),
        };
        self.save()?;
        Ok(TxOutcome {
            tx_hash,
            gas_used: result.tx_gas_used(),
            gas_price_wei: self.cfg.gas_price_wei,
            revert_reason,
        })
    }

    /// Runs a call against the latest block without committing it (`eth_call`).
    fn view<C: SolCall>(&mut self, call: C) -> Result<C::Return, ChainError> {
        let number = self.block_number;
        let timestamp = self.timestamp_seconds;
        let tx = TxEnv::builder()
            .caller(Address::ZERO)
            .call(self.broker)
            .data(call.abi_encode().into())
            .gas_limit(CALL_GAS_LIMIT)
            .gas_price(0)
            .chain_id(Some(EMBEDDED_CHAIN_ID))
            .build()
            .map_err(|e| ChainError::Rejected(format!("embedded EVM: bad call: {e:?}")))?;
        let result = {
            let mut evm = Context::mainnet()
                .with_db(&mut self.db)
                .modify_cfg_chained(|c| {
                    c.set_spec_and_mainnet_gas_params(SpecId::PRAGUE);
                    c.chain_id = EMBEDDED_CHAIN_ID;
                    c.disable_nonce_check = true;
                })
                .modify_block_chained(|b| {
                    b.number = U256::from(number);
                    b.timestamp = U256::from(timestamp);
                    b.basefee = 0;
                    b.gas_limit = 30_000_000;
                })
                .build_mainnet();
            evm.transact(tx)
        }
        .map_err(|e| ChainError::Rejected(format!("embedded EVM refused a view call: {e}")))?;
        match result.result {
            ExecutionResult::Success { output, .. } => C::abi_decode_returns(output.data())
                .map_err(|e| {
                    ChainError::Rejected(format!(
                        "TicketBroker returned undecodable data for {}: {e}",
                        C::SIGNATURE
                    ))
                }),
            other => Err(ChainError::Rejected(format!(
                "TicketBroker view {} failed: {}",
                C::SIGNATURE,
                describe_failure(&other)
            ))),
        }
    }

    // ------------------------------------------------------------------ persistence

    fn save(&self) -> Result<(), ChainError> {
        let Some(path) = &self.state_path else {
            return Ok(());
        };
        let state = self.snapshot();
        let text = serde_json::to_vec(&state).map_err(|e| {
            ChainError::Rejected(format!("cannot serialise the embedded chain's state: {e}"))
        })?;
        write_durably(path, &text).map_err(|e| {
            ChainError::Rejected(format!(
                "cannot save the embedded chain's state to {}: {e}; check the disk and the directory's permissions",
                path.display()
            ))
        })
    }

    fn snapshot(&self) -> SavedState {
        let mut accounts = BTreeMap::new();
        for (address, account) in &self.db.cache.accounts {
            let info = &account.info;
            let code = match &info.code {
                Some(code) if !code.is_empty() => Some(code.original_bytes()),
                _ => self
                    .db
                    .cache
                    .contracts
                    .get(&info.code_hash)
                    .filter(|c| !c.is_empty())
                    .map(|c| c.original_bytes()),
            };
            let storage: BTreeMap<U256, U256> = account
                .storage
                .iter()
                .filter(|(_, v)| !v.is_zero())
                .map(|(k, v)| (*k, *v))
                .collect();
            if info.balance.is_zero() && info.nonce == 0 && code.is_none() && storage.is_empty() {
                continue;
            }
            accounts.insert(
                *address,
                SavedAccount {
                    balance: info.balance,
                    nonce: info.nonce,
                    code,
                    storage,
                },
            );
        }
        SavedState {
            format: STATE_FORMAT,
            chain_id: EMBEDDED_CHAIN_ID,
            round_length_blocks: self.cfg.round_length_blocks,
            active_set_size: self.cfg.active_set_size,
            block_number: self.block_number,
            timestamp_seconds: self.timestamp_seconds,
            broker: self.broker,
            block_hashes: self.block_hashes.clone(),
            accounts,
        }
    }

    fn load(path: &Path, cfg: EmbeddedConfig) -> Result<Self, ChainError> {
        let bad = |detail: String| {
            ChainError::Rejected(format!(
                "the embedded chain's state {} is unreadable ({detail}); move it away to start a new chain (winners pending on it are then lost)",
                path.display()
            ))
        };
        let text = fs::read(path).map_err(|e| bad(e.to_string()))?;
        let state: SavedState = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
        if state.format != STATE_FORMAT || state.chain_id != EMBEDDED_CHAIN_ID {
            return Err(bad(format!(
                "format {} chain {}",
                state.format, state.chain_id
            )));
        }
        if state.round_length_blocks != cfg.round_length_blocks
            || state.active_set_size != cfg.active_set_size
        {
            return Err(ChainError::Rejected(format!(
                "the embedded chain in {} was made with a round length of {} blocks and an active set of {}, not {} and {}; use the same settings, or another data directory",
                path.display(),
                state.round_length_blocks,
                state.active_set_size,
                cfg.round_length_blocks,
                cfg.active_set_size
            )));
        }
        let mut db = CacheDB::new(EmptyDB::default());
        for (address, account) in &state.accounts {
            let mut info = AccountInfo {
                balance: account.balance,
                nonce: account.nonce,
                ..AccountInfo::default()
            };
            if let Some(code) = &account.code {
                let bytecode = Bytecode::new_raw(code.clone());
                info = info.with_code_and_hash(bytecode, keccak256(code));
            }
            db.insert_account_info(*address, info);
            for (slot, value) in &account.storage {
                db.insert_account_storage(*address, *slot, *value)
                    .map_err(|e| bad(format!("storage of {address}: {e:?}")))?;
            }
        }
        for (number, hash) in &state.block_hashes {
            db.cache.block_hashes.insert(U256::from(*number), *hash);
        }
        let chain = EmbeddedChain {
            cfg,
            db,
            block_number: state.block_number,
            timestamp_seconds: state.timestamp_seconds,
            block_hashes: state.block_hashes,
            broker: state.broker,
            state_path: None,
        };
        let has_code = chain
            .db
            .basic_ref(chain.broker)
            .ok()
            .flatten()
            .is_some_and(|a| {
                a.code_hash != revm::primitives::KECCAK_EMPTY && !a.code_hash.is_zero()
            });
        if !has_code {
            return Err(bad(format!("no TicketBroker code at {}", chain.broker)));
        }
        Ok(chain)
    }
}

/// What a failed execution means, in words.
fn describe_failure(result: &ExecutionResult) -> String {
    match result {
        ExecutionResult::Success { .. } => "succeeded".to_string(),
        ExecutionResult::Revert { output, .. } => broker::revert_reason(output),
        ExecutionResult::Halt { reason, .. } => format!("halted: {reason:?}"),
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old or the new file, never a torn
/// one: a temporary file beside it, fsync, rename, fsync of the directory.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SavedState {
    format: u32,
    chain_id: u64,
    round_length_blocks: u64,
    active_set_size: u64,
    block_number: u64,
    timestamp_seconds: u64,
    broker: Address,
    block_hashes: BTreeMap<u64, B256>,
    accounts: BTreeMap<Address, SavedAccount>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SavedAccount {
    balance: U256,
    nonce: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<Bytes>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    storage: BTreeMap<U256, U256>,
}

impl Chain for EmbeddedChain {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    fn chain_id(&self) -> u64 {
        EMBEDDED_CHAIN_ID
    }

    fn broker(&self) -> Address {
        self.broker
    }

    fn block_number(&mut self) -> Result<u64, ChainError> {
        Ok(self.block_number)
    }

    fn round_info(&mut self) -> Result<RoundInfo, ChainError> {
        let round = self.view(TicketBroker::currentRoundCall {})?;
        let block_hash = self.view(TicketBroker::blockHashForRoundCall { _round: round })?;
        if block_hash.is_zero() {
            // The round's start is out of BLOCKHASH's reach: store a hash for it on chain.
            let outcome = self.transact(
                deployer_address(),
                self.broker,
                U256::ZERO,
                TicketBroker::initializeRoundCall {}.abi_encode().into(),
            )?;
            if let Some(reason) = outcome.revert_reason {
                return Err(ChainError::Rejected(format!(
                    "initializeRound() reverted: {reason}"
                )));
            }
            return self.round_info();
        }
        let active_set_size = self.view(TicketBroker::activeSetSizeCall {})?;
        Ok(RoundInfo {
            round,
            block_hash,
            active_set_size,
        })
    }

    fn sender_funds(&mut self, sender: Address) -> Result<SenderFunds, ChainError> {
        let info = self.view(TicketBroker::getSenderInfoCall { _sender: sender })?;
        Ok(broker::sender_funds(&info))
    }

    fn fund_deposit_and_reserve(
        &mut self,
        sender_secret: &B256,
        deposit: U256,
        reserve: U256,
    ) -> Result<TxOutcome, ChainError> {
        let sender = broker::address_of_secret(sender_secret)?;
        let value = deposit.checked_add(reserve).ok_or_else(|| {
            ChainError::Rejected("deposit + reserve overflows uint256".to_string())
        })?;
        self.transact(
            sender,
            self.broker,
            value,
            broker::fund_calldata(deposit, reserve),
        )
    }

    fn redeem_winning_ticket(&mut self, call: &TicketCall) -> Result<TxOutcome, ChainError> {
        // Sent by the recipient; a zero recipient (refused by the broker) sends from the deployer.
        let caller = if call.recipient.is_zero() {
            deployer_address()
        } else {
            call.recipient
        };
        self.transact(
            caller,
            self.broker,
            U256::ZERO,
            broker::redeem_calldata(call),
        )
    }

    fn is_ticket_used(&mut self, ticket_hash: B256) -> Result<bool, ChainError> {
        self.view(TicketBroker::usedTicketsCall(ticket_hash))
    }
}
