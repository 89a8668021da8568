//! A TicketBroker on any Ethereum JSON-RPC node (anvil, a testnet, Arbitrum), through alloy over
//! HTTP(S). Async inside, on its own current-thread tokio runtime, behind the blocking [`Chain`]
//! trait. Every request has a timeout, so a stopped node gives [`ChainError::Unreachable`] within
//! [`RpcConfig::request_timeout`], never a hang.
//!
//! Transactions are legacy (gas price) transactions signed locally: the operator key deploys the
//! broker (unless an address is given), sends redemptions and gives each per-run sender key the
//! ether its `fundDepositAndReserve` needs. Before a transaction is sent, the node estimates its
//! gas; one the node says would revert is not sent (see [`Chain::redeem_winning_ticket`]). Keys are
//! never printed: the endpoint is shown without its path (which often holds an API key), and
//! [`RpcChain`]'s `Debug` shows addresses only.

use std::time::Duration;

use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use alloy::transports::{TransportError, TransportErrorKind};
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_sol_types::SolCall;

use super::broker::{self, TicketBroker};
use super::{Chain, ChainError, RoundInfo, SenderFunds, TicketCall, TxOutcome};

/// Gas a sender's first `fundDepositAndReserve` may use at most (it uses about 90k); the operator
/// gives the sender this much gas money on top of the deposit and reserve.
const FUND_GAS_ALLOWANCE: u64 = 200_000;
/// Gas estimates are raised by this many percent, as state may move between estimate and mining.
const GAS_MARGIN_PERCENT: u64 = 25;
/// How often to ask for a receipt.
const RECEIPT_POLL: Duration = Duration::from_millis(100);

/// How the RPC chain talks to its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcConfig {
    /// Blocks per round for a broker rigbench deploys (Livepeer: 5760).
    pub round_length_blocks: u64,
    /// Active set size for a broker rigbench deploys.
    pub active_set_size: u64,
    /// Gas price of rigbench's transactions, wei; None asks the node (`eth_gasPrice`).
    pub gas_price_wei: Option<u128>,
    /// Longest wait for any one request.
    pub request_timeout: Duration,
    /// Longest wait for a sent transaction to be mined.
    pub receipt_timeout: Duration,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            round_length_blocks: broker::DEFAULT_ROUND_LENGTH_BLOCKS,
            active_set_size: broker::DEFAULT_ACTIVE_SET_SIZE,
            gas_price_wei: None,
            request_timeout: Duration::from_secs(5),
            receipt_timeout: Duration::from_secs(120),
        }
    }
}

/// The TicketBroker on a JSON-RPC node. See the module docs.
pub struct RpcChain {
    runtime: tokio::runtime::Runtime,
    provider: RootProvider,
    /// scheme://host:port of the node, for messages (the path may hold an API key).
    endpoint: String,
    chain_id: u64,
    broker: Address,
    operator: PrivateKeySigner,
    cfg: RpcConfig,
}

impl std::fmt::Debug for RpcChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcChain")
            .field("endpoint", &self.endpoint)
            .field("chain_id", &self.chain_id)
            .field("broker", &self.broker)
            .field("operator", &self.operator.address())
            .finish_non_exhaustive()
    }
}

/// The URL as messages show it: scheme, host and port, with any path or credentials cut.
fn redacted_endpoint(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let more = if url.path().len() > 1 || url.query().is_some() {
        "/…"
    } else {
        ""
    };
    format!("{}://{host}{port}{more}", url.scheme())
}

/// Parses and checks an RPC URL (http or https with a host).
pub fn parse_rpc_url(url: &str) -> Result<reqwest::Url, ChainError> {
    let bad = |why: String| {
        ChainError::Rejected(format!(
            "malformed chain RPC URL {url:?}: {why}; give an http(s) URL such as http://127.0.0.1:8545"
        ))
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(format!(
            "scheme {:?} is not http or https",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host".to_string()));
    }
    Ok(parsed)
}

impl RpcChain {
    /// Connects to the node at `url`, reads its chain id, and deploys a TicketBroker from the
    /// committed artefact with the operator key, unless `broker` is given (then code must exist
    /// there). A malformed URL or key is `Rejected`; a node that does not answer is `Unreachable`.
    pub fn connect(
        url: &str,
        operator_secret: &B256,
        broker: Option<Address>,
        cfg: RpcConfig,
    ) -> Result<Self, ChainError> {
        let parsed = parse_rpc_url(url)?;
        let endpoint = redacted_endpoint(&parsed);
        let operator = PrivateKeySigner::from_bytes(operator_secret).map_err(|e| {
            ChainError::Rejected(format!(
                "the operator key is not a valid secp256k1 secret key: {e}"
            ))
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                ChainError::Rejected(format!("cannot start the RPC client's runtime: {e}"))
            })?;
        // reqwest is built without a crypto provider (no aws-lc C build); https endpoints use
        // rustls with ring. Installing fails only when one is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout)
            .build()
            .map_err(|e| ChainError::Rejected(format!("cannot build the HTTP client: {e}")))?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_client(RpcClient::new_http_with_client(client, parsed));
        let mut chain = RpcChain {
            runtime,
            provider,
            endpoint,
            chain_id: 0,
            broker: Address::ZERO,
            operator,
            cfg,
        };
        chain.chain_id =
            chain.block_on("eth_chainId", |p| async move { p.get_chain_id().await })?;
        match broker {
            Some(address) => {
                let code =
                    chain.block_on(
                        "eth_getCode",
                        |p| async move { p.get_code_at(address).await },
                    )?;
                if code.is_empty() {
                    return Err(ChainError::Rejected(format!(
                        "no contract code at broker address {address} on chain {} at {}; give the address of a deployed TicketBroker, or none to deploy one",
                        chain.chain_id, chain.endpoint
                    )));
                }
                chain.broker = address;
            }
            None => chain.broker = chain.deploy()?,
        }
        Ok(chain)
    }

    /// The operator's account (deployer, redeemer, funder of senders).
    pub fn operator_address(&self) -> Address {
        self.operator.address()
    }

    /// The endpoint as messages show it (no path, no credentials).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Ether an account holds, wei.
    pub fn balance_wei(&mut self, account: Address) -> Result<U256, ChainError> {
        self.block_on(
            "eth_getBalance",
            |p| async move { p.get_balance(account).await },
        )
    }

    /// `unlock()` sent from the account of `sender_secret` (which must hold gas money).
    pub fn unlock(&mut self, sender_secret: &B256) -> Result<TxOutcome, ChainError> {
        let data = TicketBroker::unlockCall {}.abi_encode().into();
        self.call_broker(sender_secret, U256::ZERO, data)
    }

    /// Any broker call (calldata from [`broker::TicketBroker`]) sent with `value_wei` from the
    /// account of `secret`, which must hold the value and gas money.
    pub fn call_broker(
        &mut self,
        secret: &B256,
        value_wei: U256,
        data: Bytes,
    ) -> Result<TxOutcome, ChainError> {
        let signer = signer_of(secret)?;
        self.send(&signer, TxKind::Call(self.broker), value_wei, data)
            .map(|(o, _)| o)
    }

    fn deploy(&mut self) -> Result<Address, ChainError> {
        let code = broker::deploy_code(self.cfg.round_length_blocks, self.cfg.active_set_size)?;
        let operator = self.operator.clone();
        let (outcome, receipt) = self.send(&operator, TxKind::Create, U256::ZERO, code)?;
        if let Some(reason) = outcome.revert_reason {
            return Err(ChainError::Rejected(format!(
                "deploying the TicketBroker on chain {} at {} failed: {reason}",
                self.chain_id, self.endpoint
            )));
        }
        receipt.and_then(|r| r.contract_address).ok_or_else(|| {
            ChainError::Rejected(format!(
                "the node at {} mined the deployment but reported no contract address",
                self.endpoint
            ))
        })
    }

    /// Runs one request on the runtime with the request timeout, mapping errors.
    fn block_on<T, F, Fut>(&self, what: &str, f: F) -> Result<T, ChainError>
    where
        F: FnOnce(RootProvider) -> Fut,
        Fut: std::future::Future<Output = Result<T, TransportError>>,
    {
        let fut = f(self.provider.clone());
        let timeout = self.cfg.request_timeout;
        match self
            .runtime
            .block_on(async move { tokio::time::timeout(timeout, fut).await })
        {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(map_rpc_error(&self.endpoint, what, e)),
            Err(_) => Err(ChainError::Unreachable {
                endpoint: self.endpoint.clone(),
                detail: format!("{what} got no answer within {:?}", timeout),
            }),
        }
    }

    /// `eth_call` of a broker view at the latest block.
    fn view<C: SolCall>(&self, call: C) -> Result<C::Return, ChainError> {
        let req = TransactionRequest::default()
            .with_to(self.broker)
            .with_input(Bytes::from(call.abi_encode()));
        let out = self.block_on(C::SIGNATURE, |p| async move { p.call(req).await })?;
        C::abi_decode_returns(&out).map_err(|e| {
            ChainError::Rejected(format!(
                "the contract at {} on {} answered {} with undecodable data ({e}); is it a rigbench TicketBroker?",
                self.broker, self.endpoint, C::SIGNATURE
            ))
        })
    }

    fn gas_price(&self) -> Result<u128, ChainError> {
        match self.cfg.gas_price_wei {
            Some(p) => Ok(p),
            None => self.block_on("eth_gasPrice", |p| async move { p.get_gas_price().await }),
        }
    }

    /// Signs and sends one transaction and waits for its receipt. A transaction the node's gas
    /// estimate says would revert is not sent: the outcome then has a zero hash, no gas, and the
    /// reason.
    fn send(
        &self,
        signer: &PrivateKeySigner,
        to: TxKind,
        value: U256,
        data: Bytes,
    ) -> Result<(TxOutcome, Option<TransactionReceipt>), ChainError> {
        let from = signer.address();
        let gas_price = self.gas_price()?;
        let mut req = TransactionRequest::default()
            .with_from(from)
            .with_value(value)
            .with_input(data)
            .with_chain_id(self.chain_id)
            .with_gas_price(gas_price);
        req = match to {
            TxKind::Call(address) => req.with_to(address),
            TxKind::Create => req.with_kind(TxKind::Create),
        };
        let estimate_req = req.clone();
        let estimate = match self.block_on("eth_estimateGas", |p| async move {
            p.estimate_gas(estimate_req).await
        }) {
            Ok(gas) => gas,
            Err(ChainError::Rejected(reason)) if reason.starts_with(REVERT_PREFIX) => {
                let reason = reason[REVERT_PREFIX.len()..].to_string();
                return Ok((
                    TxOutcome {
                        tx_hash: B256::ZERO,
                        gas_used: 0,
                        gas_price_wei: gas_price,
                        revert_reason: Some(reason),
                    },
                    None,
                ));
            }
            Err(e) => return Err(e),
        };
        let nonce = self.block_on("eth_getTransactionCount", |p| async move {
            p.get_transaction_count(from).pending().await
        })?;
        let req = req
            .with_nonce(nonce)
            .with_gas_limit(estimate + estimate * GAS_MARGIN_PERCENT / 100);
        let wallet = EthereumWallet::from(signer.clone());
        let envelope = self.runtime.block_on(req.build(&wallet)).map_err(|e| {
            ChainError::Rejected(format!("cannot sign a transaction from {from}: {e}"))
        })?;
        let tx_hash = self.block_on("eth_sendRawTransaction", |p| async move {
            p.send_tx_envelope(envelope)
                .await
                .map(|pending| *pending.tx_hash())
        })?;
        let receipt = self.wait_for_receipt(tx_hash)?;
        let revert_reason = if receipt.status() {
            None
        } else {
            Some(format!(
                "reverted on chain in block {} (status 0) although the gas estimate passed",
                receipt.block_number.unwrap_or_default()
            ))
        };
        let outcome = TxOutcome {
            tx_hash,
            gas_used: receipt.gas_used,
            gas_price_wei: receipt.effective_gas_price,
            revert_reason,
        };
        Ok((outcome, Some(receipt)))
    }

    fn wait_for_receipt(&self, tx_hash: B256) -> Result<TransactionReceipt, ChainError> {
        let deadline = std::time::Instant::now() + self.cfg.receipt_timeout;
        loop {
            let receipt = self.block_on("eth_getTransactionReceipt", |p| async move {
                p.get_transaction_receipt(tx_hash).await
            })?;
            if let Some(r) = receipt {
                return Ok(r);
            }
            if std::time::Instant::now() >= deadline {
                return Err(ChainError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    detail: format!(
                        "transaction {tx_hash} was sent but not mined within {:?}; it may still be mined",
                        self.cfg.receipt_timeout
                    ),
                });
            }
            std::thread::sleep(RECEIPT_POLL);
        }
    }
}

fn signer_of(secret: &B256) -> Result<PrivateKeySigner, ChainError> {
    PrivateKeySigner::from_bytes(secret)
        .map_err(|e| ChainError::Rejected(format!("not a valid secp256k1 secret key: {e}")))
}

/// Marks a refusal that is an EVM revert, so `send` can turn it into a reverted outcome.
const REVERT_PREFIX: &str = "execution reverted: ";

/// Transport trouble (refused connection, timeout, 5xx, 429) is `Unreachable`; anything the node
/// answered (JSON-RPC error, 4xx, non-JSON) is `Rejected`. Reverts become "execution reverted:
/// <reason>".
fn map_rpc_error(endpoint: &str, what: &str, e: TransportError) -> ChainError {
    use alloy::transports::RpcError;
    match &e {
        RpcError::Transport(TransportErrorKind::HttpError(h)) if h.status != 429 && h.status < 500 => {
            ChainError::Rejected(format!(
                "{endpoint} answered {what} with HTTP {}; is this an Ethereum JSON-RPC endpoint?",
                h.status
            ))
        }
        RpcError::Transport(_) => ChainError::Unreachable { endpoint: endpoint.to_string(), detail: format!("{what}: {e}") },
        RpcError::ErrorResp(payload) => {
            if let Some(data) = payload.as_revert_data() {
                return ChainError::Rejected(format!("{REVERT_PREFIX}{}", broker::revert_reason(&data)));
            }
            if payload.message.contains("revert") {
                let reason = payload.message.trim_start_matches("execution reverted").trim_start_matches(": ");
                let reason = if reason.is_empty() { "reverted without a reason" } else { reason };
                return ChainError::Rejected(format!("{REVERT_PREFIX}{reason}"));
            }
            ChainError::Rejected(format!("{endpoint} refused {what}: {} (code {})", payload.message, payload.code))
        }
        RpcError::DeserError { .. } | RpcError::NullResp => ChainError::Rejected(format!(
            "{endpoint} gave an unreadable answer to {what}; is this an Ethereum JSON-RPC endpoint? ({e})"
        )),
        _ => ChainError::Rejected(format!("{what} at {endpoint} failed: {e}")),
    }
}

impl Chain for RpcChain {
    fn kind(&self) -> &'static str {
        "rpc"
    }

    fn chain_id(&self) -> u64 {
        self.chain_id
    }

    fn broker(&self) -> Address {
        self.broker
    }

    fn block_number(&mut self) -> Result<u64, ChainError> {
        self.block_on(
            "eth_blockNumber",
            |p| async move { p.get_block_number().await },
        )
    }

    fn round_info(&mut self) -> Result<RoundInfo, ChainError> {
        for _ in 0..2 {
            let round = self.view(TicketBroker::currentRoundCall {})?;
            let block_hash = self.view(TicketBroker::blockHashForRoundCall { _round: round })?;
            if !block_hash.is_zero() {
                let active_set_size = self.view(TicketBroker::activeSetSizeCall {})?;
                return Ok(RoundInfo {
                    round,
                    block_hash,
                    active_set_size,
                });
            }
            // The round's start is out of BLOCKHASH's reach: store a hash for it on chain.
            let operator = self.operator.clone();
            let data = TicketBroker::initializeRoundCall {}.abi_encode().into();
            let (outcome, _) = self.send(&operator, TxKind::Call(self.broker), U256::ZERO, data)?;
            if let Some(reason) = outcome.revert_reason {
                return Err(ChainError::Rejected(format!(
                    "initializeRound() failed: {reason}"
                )));
            }
        }
        Err(ChainError::Rejected(format!(
            "the broker at {} on {} has no block hash for its current round even after initializeRound()",
            self.broker, self.endpoint
        )))
    }

    fn sender_funds(&mut self, sender: Address) -> Result<SenderFunds, ChainError> {
        let info = self.view(TicketBroker::getSenderInfoCall { _sender: sender })?;
        Ok(broker::sender_funds(&info))
    }

    /// The operator first tops the sender's account up to deposit + reserve + gas for the call,
    /// then the sender calls `fundDepositAndReserve`. The outcome is the sender's call.
    fn fund_deposit_and_reserve(
        &mut self,
        sender_secret: &B256,
        deposit: U256,
        reserve: U256,
    ) -> Result<TxOutcome, ChainError> {
        let sender = signer_of(sender_secret)?;
        let value = deposit.checked_add(reserve).ok_or_else(|| {
            ChainError::Rejected("deposit + reserve overflows uint256".to_string())
        })?;
        let gas_price = self.gas_price()?;
        let needed = value + U256::from(FUND_GAS_ALLOWANCE) * U256::from(gas_price);
        let address = sender.address();
        let held = self.balance_wei(address)?;
        if held < needed {
            let operator = self.operator.clone();
            let (top_up, _) = self.send(
                &operator,
                TxKind::Call(address),
                needed - held,
                Bytes::new(),
            )?;
            if let Some(reason) = top_up.revert_reason {
                return Err(ChainError::Rejected(format!(
                    "the operator {} could not send {} wei to sender {address}: {reason}",
                    self.operator.address(),
                    needed - held
                )));
            }
        }
        self.send(
            &sender,
            TxKind::Call(self.broker),
            value,
            broker::fund_calldata(deposit, reserve),
        )
        .map(|(o, _)| o)
    }

    fn redeem_winning_ticket(&mut self, call: &TicketCall) -> Result<TxOutcome, ChainError> {
        let operator = self.operator.clone();
        self.send(
            &operator,
            TxKind::Call(self.broker),
            U256::ZERO,
            broker::redeem_calldata(call),
        )
        .map(|(o, _)| o)
    }

    fn is_ticket_used(&mut self, ticket_hash: B256) -> Result<bool, ChainError> {
        self.view(TicketBroker::usedTicketsCall(ticket_hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let cases = [
            ("http://127.0.0.1:8545", true),
            ("https://arb1.example.org/v2/SECRETKEY", true),
            ("127.0.0.1:8545", false),
            ("not a url", false),
            ("ftp://127.0.0.1", false),
            ("", false),
            ("http://", false),
        ];
        for (url, ok) in cases {
            let got = parse_rpc_url(url);
            assert_eq!(got.is_ok(), ok, "{url}: {got:?}");
            if let Err(e) = got {
                assert!(!e.is_retryable());
                assert!(e.to_string().contains(&format!("{url:?}")), "{e}");
            }
        }
    }

    #[test]
    fn endpoints_hide_paths_and_credentials() {
        let cases = [
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            (
                "https://user:pass@arb1.example.org/v2/SECRETKEY",
                "https://arb1.example.org/…",
            ),
            ("http://node.local/?key=abc", "http://node.local/…"),
        ];
        for (url, want) in cases {
            assert_eq!(redacted_endpoint(&parse_rpc_url(url).unwrap()), want);
        }
    }
}
