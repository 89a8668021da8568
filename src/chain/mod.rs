//! Chains that redeem winning tickets: an embedded EVM (revm) running the TicketBroker, and any
//! Ethereum JSON-RPC node. Owns contract bindings and transaction plumbing, nothing about tickets'
//! rules (those are `payments`, which talks to a chain only through [`Chain`]).
//!
//! - [`broker`]: the TicketBroker's ABI bindings and creation code, from the committed artefact;
//! - [`embedded`]: the default chain, revm in process, state saved in a directory;
//! - [`rpc`]: any JSON-RPC node through alloy (tested against anvil).

pub mod broker;
pub mod embedded;
pub mod rpc;

use alloy_primitives::{Address, Bytes, B256, U256};

/// Everything `redeemWinningTicket(ticket, sig, recipientRand)` takes, in the contract's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketCall {
    pub recipient: Address,
    pub sender: Address,
    pub face_value: U256,
    pub win_prob: U256,
    pub sender_nonce: U256,
    pub recipient_rand_hash: B256,
    /// creationRound ‖ creationRoundBlockHash (64 bytes), or empty.
    pub aux_data: Bytes,
    /// 65 bytes r ‖ s ‖ v.
    pub sig: Bytes,
    pub recipient_rand: U256,
}

/// The outcome of one transaction that was mined (successfully or reverted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    pub tx_hash: B256,
    /// Gas the transaction used, as measured by the chain (receipt or EVM result).
    pub gas_used: u64,
    /// Effective gas price paid, wei.
    pub gas_price_wei: u128,
    /// None when the transaction succeeded; the decoded revert reason otherwise.
    pub revert_reason: Option<String>,
}

/// A sender's funds as the broker holds them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderFunds {
    pub deposit: U256,
    pub reserve: U256,
    /// Round from which the sender may withdraw (0 = not unlocked).
    pub withdraw_round: U256,
}

/// The round the broker is in, for auxData (creationRound ‖ creationRoundBlockHash).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundInfo {
    pub round: U256,
    pub block_hash: B256,
    /// How many orchestrators share a sender's reserve (reserve / active_set_size per round).
    pub active_set_size: U256,
}

/// Errors talking to a chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node could not be reached or did not answer; retrying later may work.
    #[error("chain unreachable at {endpoint}: {detail}; check that the node is running, then run `rigbench redeem` to retry")]
    Unreachable { endpoint: String, detail: String },
    /// The request was answered but refused (bad key, bad address, wrong chain, ...); retrying the
    /// same request will not help.
    #[error("{0}")]
    Rejected(String),
}

impl ChainError {
    /// Whether the same call may succeed later (network trouble), as opposed to a final refusal.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ChainError::Unreachable { .. })
    }
}

/// A chain holding a TicketBroker. Implemented by the embedded EVM and by JSON-RPC. Calls are
/// blocking; an implementation that is async inside owns its runtime.
pub trait Chain: Send {
    /// "embedded" or "rpc".
    fn kind(&self) -> &'static str;
    fn chain_id(&self) -> u64;
    /// The TicketBroker's address.
    fn broker(&self) -> Address;
    fn block_number(&mut self) -> Result<u64, ChainError>;
    fn round_info(&mut self) -> Result<RoundInfo, ChainError>;
    fn sender_funds(&mut self, sender: Address) -> Result<SenderFunds, ChainError>;
    /// `fundDepositAndReserve(deposit, reserve)` sent from the account of `sender_secret`
    /// (a 32-byte secp256k1 secret key). The chain makes sure that account can pay for it (the
    /// embedded EVM credits it; on rpc it must already hold ether).
    fn fund_deposit_and_reserve(
        &mut self,
        sender_secret: &B256,
        deposit: U256,
        reserve: U256,
    ) -> Result<TxOutcome, ChainError>;
    /// `redeemWinningTicket` sent by the recipient's account. A revert is an `Ok` with
    /// `revert_reason` set (gas was still spent and measured); `Err` means nothing was mined.
    /// On rpc, the redemption is sent by the operator account (the broker pays `recipient`
    /// whoever sends it), and one the node's gas estimate says would revert is not sent at all:
    /// `revert_reason` is set, `tx_hash` is zero and `gas_used` 0. An `Unreachable` after the
    /// transaction was sent may hide a mined redemption: check [`Chain::is_ticket_used`] before
    /// retrying (the broker would answer "ticket is used").
    fn redeem_winning_ticket(&mut self, call: &TicketCall) -> Result<TxOutcome, ChainError>;
    /// Whether the broker has already marked this ticket hash as used.
    fn is_ticket_used(&mut self, ticket_hash: B256) -> Result<bool, ChainError>;
}

/// A 32-byte secp256k1 secret key whose `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(B256);

impl SecretKey {
    pub fn new(secret: B256) -> SecretKey {
        SecretKey(secret)
    }

    /// The secret bytes; never print or log them.
    pub fn expose(&self) -> &B256 {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<hidden>)")
    }
}

/// Which chain a run redeems on, as `config` resolves it from `--chain`, `--chain-rpc`,
/// `--broker`, `--data-dir` and `--redeem-gas-price`.
#[derive(Debug, Clone)]
pub enum ChainSpec {
    /// The embedded EVM; its state is kept in `state_dir` when given (needed for
    /// `rigbench redeem` to find winners an earlier run left pending).
    Embedded {
        state_dir: Option<std::path::PathBuf>,
        config: embedded::EmbeddedConfig,
    },
    /// A JSON-RPC node; the broker is deployed by the operator unless `broker` is given.
    Rpc {
        url: String,
        operator_key: SecretKey,
        broker: Option<Address>,
        config: rpc::RpcConfig,
    },
}

/// Opens the chain a spec names.
pub fn open(spec: &ChainSpec) -> Result<Box<dyn Chain>, ChainError> {
    Ok(match spec {
        ChainSpec::Embedded {
            state_dir: Some(dir),
            config,
        } => Box::new(embedded::EmbeddedChain::open_or_create(
            dir,
            config.clone(),
        )?),
        ChainSpec::Embedded {
            state_dir: None,
            config,
        } => Box::new(embedded::EmbeddedChain::new(config.clone())?),
        ChainSpec::Rpc {
            url,
            operator_key,
            broker,
            config,
        } => Box::new(rpc::RpcChain::connect(
            url,
            operator_key.expose(),
            *broker,
            config.clone(),
        )?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_do_not_show_in_debug() {
        let key = SecretKey::new(B256::repeat_byte(0xab));
        let spec = ChainSpec::Rpc {
            url: "http://127.0.0.1:8545".into(),
            operator_key: key.clone(),
            broker: None,
            config: rpc::RpcConfig::default(),
        };
        let shown = format!("{key:?} {spec:?}");
        assert!(!shown.contains("abab"), "{shown}");
        assert_eq!(key.expose(), &B256::repeat_byte(0xab));
    }

    #[test]
    fn open_embedded_in_memory_and_in_a_directory() {
        let cfg = embedded::EmbeddedConfig::default();
        let chain = open(&ChainSpec::Embedded {
            state_dir: None,
            config: cfg.clone(),
        })
        .unwrap();
        assert_eq!(
            (chain.kind(), chain.chain_id()),
            ("embedded", embedded::EMBEDDED_CHAIN_ID)
        );
        let dir = tempfile::tempdir().unwrap();
        let spec = ChainSpec::Embedded {
            state_dir: Some(dir.path().to_path_buf()),
            config: cfg,
        };
        let broker = open(&spec).unwrap().broker();
        assert!(dir.path().join(embedded::STATE_FILE_NAME).exists());
        assert_eq!(open(&spec).unwrap().broker(), broker);
    }

    #[test]
    fn open_rpc_with_a_bad_url_is_rejected() {
        let spec = ChainSpec::Rpc {
            url: "nonsense".into(),
            operator_key: SecretKey::new(B256::repeat_byte(1)),
            broker: None,
            config: rpc::RpcConfig::default(),
        };
        assert!(!open(&spec).err().map(|e| e.is_retryable()).unwrap_or(true));
    }
}
