//! The TicketBroker contract as Rust sees it: ABI bindings generated from the committed artefact
//! (`fixtures/contracts/TicketBroker.json`, built from `contracts/TicketBroker.sol` by
//! `scripts/build-contracts`), its creation bytecode, and the encoding shared by both chains.

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolConstructor};

use super::{ChainError, TicketCall};

alloy_sol_types::sol!(
    #[allow(missing_docs, clippy::too_many_arguments)]
    #[derive(Debug, PartialEq, Eq)]
    TicketBroker,
    "fixtures/contracts/TicketBroker.json"
);

/// The committed artefact, as built by `scripts/build-contracts`.
pub const ARTEFACT_JSON: &str = include_str!("../../fixtures/contracts/TicketBroker.json");

/// Default blocks per round: Livepeer's round is 5760 L1 blocks.
pub const DEFAULT_ROUND_LENGTH_BLOCKS: u64 = 5760;
/// Default active set size: Livepeer's active orchestrator set holds 100.
pub const DEFAULT_ACTIVE_SET_SIZE: u64 = 100;

/// The fields of the artefact rigbench needs.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artefact {
    pub compiler: String,
    pub source_sha256: String,
    pub bytecode: Bytes,
    pub deployed_bytecode: Bytes,
}

/// Parses the committed artefact.
pub fn artefact() -> Result<Artefact, ChainError> {
    serde_json::from_str(ARTEFACT_JSON).map_err(|e| {
        ChainError::Rejected(format!(
            "fixtures/contracts/TicketBroker.json is not a valid artefact ({e}); rebuild it with scripts/build-contracts"
        ))
    })
}

/// Creation code plus ABI-encoded constructor arguments: what a deployment transaction carries.
pub fn deploy_code(round_length_blocks: u64, active_set_size: u64) -> Result<Bytes, ChainError> {
    if round_length_blocks == 0 || active_set_size == 0 {
        return Err(ChainError::Rejected(format!(
            "TicketBroker needs a positive round length and active set size (got {round_length_blocks} blocks, {active_set_size} orchestrators)"
        )));
    }
    let mut code = artefact()?.bytecode.to_vec();
    code.extend_from_slice(
        &TicketBroker::constructorCall {
            _roundLength: U256::from(round_length_blocks),
            _activeSetSize: U256::from(active_set_size),
        }
        .abi_encode(),
    );
    Ok(code.into())
}

/// The contract's `Ticket` tuple for a [`TicketCall`].
pub fn ticket_tuple(call: &TicketCall) -> TicketBroker::Ticket {
    TicketBroker::Ticket {
        recipient: call.recipient,
        sender: call.sender,
        faceValue: call.face_value,
        winProb: call.win_prob,
        senderNonce: call.sender_nonce,
        recipientRandHash: call.recipient_rand_hash,
        auxData: call.aux_data.clone(),
    }
}

/// Calldata of `redeemWinningTicket(ticket, sig, recipientRand)`.
pub fn redeem_calldata(call: &TicketCall) -> Bytes {
    TicketBroker::redeemWinningTicketCall {
        _ticket: ticket_tuple(call),
        _sig: call.sig.clone(),
        _recipientRand: call.recipient_rand,
    }
    .abi_encode()
    .into()
}

/// Calldata of `batchRedeemWinningTickets(tickets, sigs, recipientRands)`.
pub fn batch_redeem_calldata(calls: &[TicketCall]) -> Bytes {
    TicketBroker::batchRedeemWinningTicketsCall {
        _tickets: calls.iter().map(ticket_tuple).collect(),
        _sigs: calls.iter().map(|c| c.sig.clone()).collect(),
        _recipientRands: calls.iter().map(|c| c.recipient_rand).collect(),
    }
    .abi_encode()
    .into()
}

/// Calldata of `fundDepositAndReserve(deposit, reserve)`.
pub fn fund_calldata(deposit: U256, reserve: U256) -> Bytes {
    TicketBroker::fundDepositAndReserveCall {
        _depositAmount: deposit,
        _reserveAmount: reserve,
    }
    .abi_encode()
    .into()
}

/// A revert's output as text: the bare `Error(string)` reason (e.g. "ticket is used"), a
/// decoded `Panic(uint256)` ("panic: ..."), or the raw bytes in hex when nothing decodes.
pub fn revert_reason(output: &[u8]) -> String {
    use alloy_sol_types::SolError;
    if output.is_empty() {
        return "reverted without a reason".to_string();
    }
    if let Ok(revert) = alloy_sol_types::Revert::abi_decode(output) {
        return revert.reason;
    }
    if let Ok(panic) = alloy_sol_types::Panic::abi_decode(output) {
        return panic.to_string();
    }
    format!(
        "reverted with undecodable data 0x{}",
        alloy_primitives::hex::encode(output)
    )
}

/// The broker's `getSenderInfo` answer as the [`super::SenderFunds`] both chains report.
pub fn sender_funds(info: &TicketBroker::getSenderInfoReturn) -> super::SenderFunds {
    super::SenderFunds {
        deposit: info.sender.deposit,
        reserve: info.reserve.fundsRemaining,
        withdraw_round: info.sender.withdrawRound,
    }
}

/// The account a 32-byte secp256k1 secret key controls.
pub fn address_of_secret(secret: &alloy_primitives::B256) -> Result<Address, ChainError> {
    alloy::signers::local::PrivateKeySigner::from_bytes(secret)
        .map(|s| s.address())
        .map_err(|e| ChainError::Rejected(format!("not a valid secp256k1 secret key: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{hex, keccak256};
    use alloy_sol_types::SolEvent;

    #[test]
    fn selectors_match_livepeer() {
        let cases: [(&str, [u8; 4]); 4] = [
            (
                "redeemWinningTicket",
                TicketBroker::redeemWinningTicketCall::SELECTOR,
            ),
            (
                "fundDepositAndReserve",
                TicketBroker::fundDepositAndReserveCall::SELECTOR,
            ),
            ("fundDeposit", TicketBroker::fundDepositCall::SELECTOR),
            (
                "batchRedeemWinningTickets",
                TicketBroker::batchRedeemWinningTicketsCall::SELECTOR,
            ),
        ];
        let signatures = [
            "redeemWinningTicket((address,address,uint256,uint256,uint256,bytes32,bytes),bytes,uint256)",
            "fundDepositAndReserve(uint256,uint256)",
            "fundDeposit()",
            "batchRedeemWinningTickets((address,address,uint256,uint256,uint256,bytes32,bytes)[],bytes[],uint256[])",
        ];
        for ((name, selector), signature) in cases.iter().zip(signatures) {
            assert_eq!(selector[..], keccak256(signature)[..4], "{name}");
        }
        assert_eq!(
            hex::encode(TicketBroker::redeemWinningTicketCall::SELECTOR),
            "ec8b3cb6"
        );
    }

    #[test]
    fn winning_ticket_redeemed_event_signature() {
        assert_eq!(
            TicketBroker::WinningTicketRedeemed::SIGNATURE,
            "WinningTicketRedeemed(address,address,uint256,uint256,uint256,uint256,bytes)"
        );
    }

    #[test]
    fn artefact_parses_and_deploy_code_appends_constructor_args() {
        let a = artefact().unwrap();
        assert_eq!(a.compiler, "0.8.24");
        let code = deploy_code(5760, 100).unwrap();
        assert_eq!(code.len(), a.bytecode.len() + 64);
        assert!(deploy_code(0, 100).is_err());
        assert!(deploy_code(10, 0).is_err());
    }

    #[test]
    fn revert_reasons_decode() {
        use alloy_sol_types::SolError;
        let reason = alloy_sol_types::Revert::from("ticket is used").abi_encode();
        let panic = alloy_sol_types::Panic {
            code: U256::from(0x11),
        }
        .abi_encode();
        let cases: [(&[u8], &str); 4] = [
            (&reason, "ticket is used"),
            (&panic, "panic: arithmetic underflow or overflow (0x11)"),
            (&[], "reverted without a reason"),
            (&[1, 2, 3], "reverted with undecodable data 0x010203"),
        ];
        for (output, want) in cases {
            assert_eq!(revert_reason(output), want);
        }
    }

    #[test]
    fn secret_to_address() {
        // The well-known first anvil/hardhat development key.
        let secret: alloy_primitives::B256 =
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
                .parse()
                .unwrap();
        let want: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .unwrap();
        assert_eq!(address_of_secret(&secret).unwrap(), want);
        assert!(address_of_secret(&alloy_primitives::B256::ZERO).is_err());
    }
}
