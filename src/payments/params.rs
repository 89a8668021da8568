//! The messages broadcaster and orchestrator exchange (ticket parameters out, payments back) and
//! the pure arithmetic behind them: face value, win probability, fee estimate, ticket count.
//!
//! Source: go-livepeer `net/lp_rpc.proto` (`TicketParams`, `Payment`, `PriceInfo`),
//! `pm/recipient.go` (`faceValue`, `winProb`), `pm/sender.go` (`validateTicketParams`),
//! `core/accounting.go` (`Balance.StageUpdate`) and `server/segment_rpc.go` (`estimateFee`);
//! livepeer-facts.md §3.

use alloy_primitives::{Address, Bytes, B256, I256, U256};
use serde::{Deserialize, Serialize};

use super::ticket::{expected_value_wei, Ticket};

/// Orchestrator parameters expire this many blocks after they are issued.
pub const PARAMS_EXPIRY_BLOCKS: u64 = 40;
/// A recipient accepts at most this many sender nonces per recipientRand.
pub const MAX_SENDER_NONCES: usize = 600;
/// go-livepeer's default `txCostMultiplier`: face value = 100 × redemption cost.
pub const TX_COST_MULTIPLIER: u64 = 100;
/// go-livepeer's default ticket EV, wei (8 gwei; older docs say 1000 gwei).
pub const DEFAULT_TICKET_EV_WEI: u64 = 8_000_000_000;
/// go-livepeer's redeem-gas estimate on Arbitrum One: face values are sized from it.
pub const ARBITRUM_REDEEM_GAS: u64 = 1_200_000;
/// go-livepeer's redeem-gas estimate on Ethereum L1.
pub const L1_REDEEM_GAS: u64 = 350_000;
/// The reference gas price (3 gwei) at which a face value below txCost is still refused.
pub const REFERENCE_GAS_PRICE_WEI: u64 = 3_000_000_000;
/// The sender's ceiling on a ticket's EV (go-livepeer `-maxTicketEV`, 3e12 wei).
pub const SENDER_MAX_EV_WEI: u64 = 3_000_000_000_000;
/// The sender over-estimates a segment's fee by 2% (`1.02`), kept as a ratio.
pub const FEE_ESTIMATE_PERCENT: u64 = 102;
/// Frame rate assumed for a passthrough rendition (fps 0).
pub const PASSTHROUGH_FPS: u64 = 60;

/// Price per pixel as a fraction: `price_per_unit_wei / pixels_per_unit` wei per pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceInfo {
    pub price_per_unit_wei: U256,
    pub pixels_per_unit: U256,
}

impl PriceInfo {
    /// A whole number of wei per pixel.
    pub fn per_pixel(wei: U256) -> PriceInfo {
        PriceInfo {
            price_per_unit_wei: wei,
            pixels_per_unit: U256::from(1u64),
        }
    }

    /// Numerator and denominator in lowest terms, as Go's `big.Rat` keeps them (the HMAC of
    /// recipientRand covers these).
    pub fn reduced(&self) -> (U256, U256) {
        let g = self.price_per_unit_wei.gcd(self.pixels_per_unit);
        if g.is_zero() {
            return (U256::ZERO, U256::from(1u64));
        }
        (self.price_per_unit_wei / g, self.pixels_per_unit / g)
    }
}

/// `creationRound ‖ creationRoundBlockHash`: the round the parameters were issued in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExpirationParams {
    pub creation_round: U256,
    pub creation_round_block_hash: B256,
}

/// What the orchestrator hands a broadcaster before it may pay (go-livepeer `TicketParams`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketParams {
    pub recipient: Address,
    pub face_value_wei: U256,
    pub win_prob: U256,
    pub recipient_rand_hash: B256,
    /// Random seed the orchestrator derives recipientRand from; it comes back with payments.
    pub seed: U256,
    /// The parameters are invalid from this block on.
    pub expiration_block: U256,
    pub expiration_params: ExpirationParams,
    /// The price these parameters were issued for.
    pub price: PriceInfo,
}

impl TicketParams {
    /// EV of a ticket under these parameters, wei.
    pub fn ev_wei(&self) -> U256 {
        expected_value_wei(self.face_value_wei, self.win_prob)
    }
}

/// One ticket's sender-specific part (go-livepeer `TicketSenderParams`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSenderParams {
    pub sender_nonce: u32,
    /// 65 bytes r ‖ s ‖ v.
    pub sig: Bytes,
}

/// A broadcaster's payment for one segment (go-livepeer `Payment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub sender: Address,
    pub ticket_params: TicketParams,
    pub tickets: Vec<TicketSenderParams>,
    pub expected_price: PriceInfo,
}

impl Payment {
    /// The full ticket for entry `i` of `tickets`.
    pub fn ticket(&self, sender_params: &TicketSenderParams) -> Ticket {
        let p = &self.ticket_params;
        Ticket {
            recipient: p.recipient,
            sender: self.sender,
            face_value_wei: p.face_value_wei,
            win_prob: p.win_prob,
            sender_nonce: sender_params.sender_nonce,
            recipient_rand_hash: p.recipient_rand_hash,
            creation_round: p.expiration_params.creation_round,
            creation_round_block_hash: p.expiration_params.creation_round_block_hash,
        }
    }
}

/// Why ticket parameters could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("insufficient sender reserve: the face value the sender's reserve allows ({face_value_wei} wei) is below the ticket EV ({ev_wei} wei); the sender must fund its reserve (fundReserve) or the orchestrator must lower --ticket-ev")]
    InsufficientSenderReserve { face_value_wei: U256, ev_wei: U256 },
    #[error("insufficient sender reserve: the face value the sender's reserve allows ({face_value_wei} wei) is below the cost of redeeming a winner ({tx_cost_wei} wei), even at the 3 gwei reference gas price; the sender must fund its reserve (fundReserve)")]
    BelowTxCost {
        face_value_wei: U256,
        tx_cost_wei: U256,
    },
    #[error("ticket EV is zero; give --ticket-ev a positive number of wei")]
    ZeroEv,
}

/// Ticket parameters as go-livepeer sizes them from the configured redeem-gas estimate: the
/// one computation the run's payments and the economics share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketSizing {
    /// redeemGas × gasPrice, wei.
    pub tx_cost_wei: U256,
    pub face_value_wei: U256,
    /// winProb as the raw uint256 (a fraction of 2^256 − 1).
    pub win_prob: U256,
}

impl TicketSizing {
    /// Winning tickets a stream of `fees_wei` in payments draws on average: fees / faceValue
    /// (every fee is paid in tickets of EV = faceValue × winProb).
    pub fn winners_for(&self, fees_wei: f64) -> f64 {
        let fv = u256_to_f64(self.face_value_wei);
        if fv > 0.0 {
            fees_wei / fv
        } else {
            0.0
        }
    }
}

/// U256 as f64 (rounded; exact below 2^53).
pub fn u256_to_f64(v: U256) -> f64 {
    v.to_string().parse().unwrap_or(f64::INFINITY)
}

/// go-livepeer's ticket parameters for an EV at a gas price: [`face_value_wei`] and
/// [`win_prob`] together. Economics pass `U256::MAX` as the float and `None` as the cap.
pub fn ticket_sizing(
    redeem_gas: u64,
    gas_price_wei: U256,
    ev_wei: U256,
    max_float_wei: U256,
    max_face_value_wei: Option<U256>,
) -> Result<TicketSizing, ParamsError> {
    let face_value = face_value_wei(
        redeem_gas,
        gas_price_wei,
        ev_wei,
        max_float_wei,
        max_face_value_wei,
    )?;
    Ok(TicketSizing {
        tx_cost_wei: U256::from(redeem_gas).saturating_mul(gas_price_wei),
        face_value_wei: face_value,
        win_prob: win_prob(ev_wei, face_value),
    })
}

/// Orchestrator side: `faceValue = max(redeemGas × gasPrice × 100, EV × 100)`, capped by the
/// sender's max float (see [`max_float_wei`]) and by `max_face_value_wei`; refused when it
/// falls below EV, or below txCost while also below txCost at the 3 gwei reference price.
pub fn face_value_wei(
    redeem_gas: u64,
    gas_price_wei: U256,
    ev_wei: U256,
    max_float_wei: U256,
    max_face_value_wei: Option<U256>,
) -> Result<U256, ParamsError> {
    if ev_wei.is_zero() {
        return Err(ParamsError::ZeroEv);
    }
    let multiplier = U256::from(TX_COST_MULTIPLIER);
    let tx_cost = U256::from(redeem_gas).saturating_mul(gas_price_wei);
    let mut face_value = tx_cost.saturating_mul(multiplier);
    let ev_floor = ev_wei.saturating_mul(multiplier);
    if face_value < ev_floor {
        face_value = ev_floor;
    }
    face_value = face_value.min(max_float_wei);
    if let Some(max) = max_face_value_wei {
        face_value = face_value.min(max);
    }
    if face_value < ev_wei {
        return Err(ParamsError::InsufficientSenderReserve {
            face_value_wei: face_value,
            ev_wei,
        });
    }
    let tx_cost_at_reference =
        U256::from(redeem_gas).saturating_mul(U256::from(REFERENCE_GAS_PRICE_WEI));
    if face_value < tx_cost && face_value < tx_cost_at_reference {
        return Err(ParamsError::BelowTxCost {
            face_value_wei: face_value,
            tx_cost_wei: tx_cost,
        });
    }
    Ok(face_value)
}

/// The sender's max float for one recipient (go-livepeer `pm/sendermonitor.go`, facts doc §3):
/// (reserve remaining + claimed from the reserve this round) / pool size − what this recipient
/// claimed this round; winners pending redemption are subtracted too, but only when the deposit
/// covers them less than 3 times over (deposit / pending < 3).
pub fn max_float_wei(
    reserve_remaining_wei: U256,
    claimed_this_round_wei: U256,
    pool_size: U256,
    claimed_by_recipient_wei: U256,
    deposit_wei: U256,
    pending_wei: U256,
) -> U256 {
    let pool = if pool_size.is_zero() {
        U256::from(1u64)
    } else {
        pool_size
    };
    let share = reserve_remaining_wei.saturating_add(claimed_this_round_wei) / pool;
    let float = share.saturating_sub(claimed_by_recipient_wei);
    if !pending_wei.is_zero() && deposit_wei / pending_wei < U256::from(3u64) {
        float.saturating_sub(pending_wei)
    } else {
        float
    }
}

/// `winProb = EV × ceil((2^256 − 1) / faceValue)`, saturating at 2^256 − 1 (always wins).
pub fn win_prob(ev_wei: U256, face_value_wei: U256) -> U256 {
    if face_value_wei.is_zero() {
        return U256::ZERO;
    }
    ev_wei.saturating_mul(U256::MAX.div_ceil(face_value_wei))
}

/// One output rendition of a segment, as the broadcaster requests it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RenditionSpec {
    pub width: u32,
    pub height: u32,
    /// Frames per second; 0 means passthrough (the source rate, estimated as 60).
    pub fps: f64,
}

/// Why a fee could not be estimated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeeError {
    #[error("rendition {index} has fps {fps}; give a positive frame rate, or 0 for passthrough")]
    BadFps { index: usize, fps: f64 },
    #[error("segment duration {0} s is not a finite non-negative number of seconds")]
    BadDuration(f64),
}

/// Σ over renditions of `w × h × ceil(fps, or 60 for passthrough) × ceil(segment seconds)`:
/// the pixels the broadcaster expects to pay for before transcoding.
pub fn estimated_pixels(
    renditions: &[RenditionSpec],
    segment_seconds: f64,
) -> Result<U256, FeeError> {
    if !segment_seconds.is_finite() || segment_seconds < 0.0 {
        return Err(FeeError::BadDuration(segment_seconds));
    }
    let seconds = U256::from(segment_seconds.ceil() as u64);
    let mut total = U256::ZERO;
    for (index, r) in renditions.iter().enumerate() {
        if !r.fps.is_finite() || r.fps < 0.0 {
            return Err(FeeError::BadFps { index, fps: r.fps });
        }
        let fps = if r.fps == 0.0 {
            PASSTHROUGH_FPS
        } else {
            r.fps.ceil() as u64
        };
        let pixels = U256::from(r.width) * U256::from(r.height) * U256::from(fps) * seconds;
        total = total.saturating_add(pixels);
    }
    Ok(total)
}

/// The fee estimate in hundredths of a wei: `pixels × price × 102` (that is, 1.02 × the fee,
/// ×100 so it stays an exact integer).
pub fn estimated_fee_centiwei(pixels: U256, price: &PriceInfo) -> U256 {
    let (num, denom) = price.reduced();
    pixels
        .saturating_mul(num)
        .saturating_mul(U256::from(FEE_ESTIMATE_PERCENT))
        .div_ceil(denom)
}

/// Tickets to send: `ceil((max(fee, EV) − credit) / EV)`, 0 when the credit covers it. Works in
/// hundredths of a wei so the 1.02 factor stays exact.
pub fn tickets_needed(fee_centiwei: U256, ev_wei: U256, credit_wei: I256) -> U256 {
    if ev_wei.is_zero() {
        return U256::ZERO;
    }
    let hundred = U256::from(100u64);
    let ev_centi = ev_wei.saturating_mul(hundred);
    let min_credit = fee_centiwei.max(ev_centi);
    let need = if credit_wei.is_negative() {
        min_credit.saturating_add(credit_wei.unsigned_abs().saturating_mul(hundred))
    } else {
        let credit = credit_wei.unsigned_abs().saturating_mul(hundred);
        if credit >= min_credit {
            return U256::ZERO;
        }
        min_credit - credit
    };
    need.div_ceil(ev_centi)
}

/// Why a sender refuses an orchestrator's parameters (go-livepeer `validateTicketParams`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsRefusal {
    #[error("ticket parameters expire at block {expiration_block} but the chain is at block {current_block}; ask the orchestrator for fresh parameters")]
    Expiring {
        expiration_block: U256,
        current_block: u64,
    },
    #[error("ticket EV {ev_wei} wei is not below the face value {face_value_wei} wei")]
    EvNotBelowFaceValue { ev_wei: U256, face_value_wei: U256 },
    #[error("ticket EV {ev_wei} wei is above the sender's maximum of {max_ev_wei} wei")]
    EvTooHigh { ev_wei: U256, max_ev_wei: U256 },
    #[error("ticket face value {face_value_wei} wei is above the sender's deposit of {deposit_wei} wei; fund the deposit")]
    FaceValueAboveDeposit {
        face_value_wei: U256,
        deposit_wei: U256,
    },
}

/// The checks a sender makes before paying with `params` at `current_block`: they must not
/// expire within a block, EV must be below the face value and at most `max_ev_wei`, and the
/// face value must not exceed the sender's deposit.
pub fn check_params(
    params: &TicketParams,
    current_block: u64,
    max_ev_wei: U256,
    deposit_wei: U256,
) -> Result<(), ParamsRefusal> {
    if params.expiration_block <= U256::from(current_block).saturating_add(U256::from(1u64)) {
        return Err(ParamsRefusal::Expiring {
            expiration_block: params.expiration_block,
            current_block,
        });
    }
    let ev_wei = params.ev_wei();
    if ev_wei >= params.face_value_wei {
        return Err(ParamsRefusal::EvNotBelowFaceValue {
            ev_wei,
            face_value_wei: params.face_value_wei,
        });
    }
    if ev_wei > max_ev_wei {
        return Err(ParamsRefusal::EvTooHigh { ev_wei, max_ev_wei });
    }
    if params.face_value_wei > deposit_wei {
        return Err(ParamsRefusal::FaceValueAboveDeposit {
            face_value_wei: params.face_value_wei,
            deposit_wei,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: u64) -> U256 {
        U256::from(n)
    }

    #[test]
    fn face_value_table() {
        let big = U256::MAX;
        // (gas, gas price, ev, max float, cap, expected)
        type Case = (
            u64,
            U256,
            U256,
            U256,
            Option<U256>,
            Result<U256, ParamsError>,
        );
        let cases: Vec<Case> = vec![
            // Arbitrum-like: 1.2M gas × 0.01 gwei × 100 = 1.2e15 wei.
            (
                1_200_000,
                u(10_000_000),
                u(8_000_000_000),
                big,
                None,
                Ok(u(1_200_000_000_000_000)),
            ),
            // Gas cost tiny: raised to EV × 100.
            (
                1_200_000,
                u(1),
                u(8_000_000_000),
                big,
                None,
                Ok(u(800_000_000_000)),
            ),
            // Capped by the reserve allowance, still above txCost (1.2e13).
            (
                1_200_000,
                u(10_000_000),
                u(8_000_000_000),
                u(100_000_000_000_000),
                None,
                Ok(u(100_000_000_000_000)),
            ),
            // Capped by the configured maximum.
            (
                1_200_000,
                u(10_000_000),
                u(8_000_000_000),
                big,
                Some(u(50_000_000_000_000)),
                Ok(u(50_000_000_000_000)),
            ),
            // Capped to exactly txCost: accepted.
            (
                1_200_000,
                u(10_000_000),
                u(8_000_000_000),
                u(12_000_000_000_000),
                None,
                Ok(u(12_000_000_000_000)),
            ),
            // Below txCost (and below txCost at 3 gwei): refused.
            (
                1_200_000,
                u(10_000_000),
                u(8_000_000_000),
                u(11_999_999_999_999),
                None,
                Err(ParamsError::BelowTxCost {
                    face_value_wei: u(11_999_999_999_999),
                    tx_cost_wei: u(12_000_000_000_000),
                }),
            ),
            // A gas spike to 10 gwei: below txCost (1.2e16) but not below txCost at 3 gwei
            // (3.6e15): go-livepeer keeps paying through the spike.
            (
                1_200_000,
                u(10_000_000_000),
                u(8_000_000_000),
                u(4_000_000_000_000_000),
                None,
                Ok(u(4_000_000_000_000_000)),
            ),
            // Below EV: insufficient sender reserve.
            (
                1_200_000,
                u(10_000_000),
                u(8_000_000_000),
                u(7_999_999_999),
                None,
                Err(ParamsError::InsufficientSenderReserve {
                    face_value_wei: u(7_999_999_999),
                    ev_wei: u(8_000_000_000),
                }),
            ),
            (
                1_200_000,
                u(10_000_000),
                u(8_000_000_000),
                U256::ZERO,
                None,
                Err(ParamsError::InsufficientSenderReserve {
                    face_value_wei: U256::ZERO,
                    ev_wei: u(8_000_000_000),
                }),
            ),
            (
                1_200_000,
                u(10_000_000),
                U256::ZERO,
                big,
                None,
                Err(ParamsError::ZeroEv),
            ),
        ];
        for (gas, price, ev, float, cap, want) in cases {
            assert_eq!(
                face_value_wei(gas, price, ev, float, cap),
                want,
                "gas {gas} price {price} ev {ev} float {float}"
            );
        }
    }

    #[test]
    fn max_float_table() {
        // (reserve left, claimed this round, pool, claimed by me, deposit, pending, float)
        let cases = [
            // 1 ETH reserve over 100 orchestrators.
            (1_000_000u64, 0u64, 100u64, 0u64, 0u64, 0u64, 10_000u64),
            // What was claimed this round still counts toward the round's share.
            (900_000, 100_000, 100, 0, 0, 0, 10_000),
            // What this recipient already claimed this round comes off its share.
            (900_000, 100_000, 100, 4_000, 0, 0, 6_000),
            (900_000, 100_000, 100, 20_000, 0, 0, 0),
            // Pending winners: subtracted when the deposit covers them less than 3 times.
            (1_000_000, 0, 100, 0, 2_000, 1_000, 9_000),
            (1_000_000, 0, 100, 0, 2_999, 1_000, 9_000),
            // ... and not when it covers them 3 times or more.
            (1_000_000, 0, 100, 0, 3_000, 1_000, 10_000),
            (1_000_000, 0, 100, 0, 0, 20_000, 0),
            // A pool of 0 is taken as 1.
            (1_000, 0, 0, 0, 0, 0, 1_000),
        ];
        for (reserve, claimed, pool, mine, deposit, pending, want) in cases {
            assert_eq!(
                max_float_wei(u(reserve), u(claimed), u(pool), u(mine), u(deposit), u(pending)),
                u(want),
                "reserve {reserve} claimed {claimed} pool {pool} mine {mine} deposit {deposit} pending {pending}"
            );
        }
    }

    #[test]
    fn ticket_sizing_is_face_value_and_win_prob_together() {
        // (gas, gas price, ev) → (txCost, faceValue): Arbitrum, L1 at 30 gwei, tiny gas.
        let cases = [
            (
                ARBITRUM_REDEEM_GAS,
                10_000_000u64,
                DEFAULT_TICKET_EV_WEI,
                12_000_000_000_000u64,
                1_200_000_000_000_000u64,
            ),
            (
                L1_REDEEM_GAS,
                30_000_000_000,
                DEFAULT_TICKET_EV_WEI,
                10_500_000_000_000_000,
                1_050_000_000_000_000_000,
            ),
            (
                ARBITRUM_REDEEM_GAS,
                1,
                DEFAULT_TICKET_EV_WEI,
                1_200_000,
                800_000_000_000,
            ),
        ];
        for (gas, price, ev, tx, fv) in cases {
            let t = ticket_sizing(gas, u(price), u(ev), U256::MAX, None).unwrap();
            assert_eq!((t.tx_cost_wei, t.face_value_wei), (u(tx), u(fv)));
            assert_eq!(t.win_prob, win_prob(u(ev), u(fv)));
            let winners = t.winners_for(fv as f64 * 3.0);
            assert!((winners - 3.0).abs() < 1e-12, "{winners}");
        }
    }

    #[test]
    fn win_prob_gives_back_the_ev() {
        for (ev, fv) in [
            (8_000_000_000u64, 1_200_000_000_000_000u64),
            (1, 100),
            (7, 7),
            (1000, 3),
            (3, 1000),
        ] {
            let wp = win_prob(u(ev), u(fv));
            let got = expected_value_wei(u(fv), wp);
            if ev >= fv {
                assert_eq!(wp, U256::MAX, "saturates: ev {ev} fv {fv}");
            } else {
                assert!(
                    got >= u(ev) && got <= u(ev) + u(1),
                    "ev {ev} fv {fv} -> {got}"
                );
            }
        }
        assert_eq!(win_prob(u(1), U256::ZERO), U256::ZERO);
    }

    #[test]
    fn estimated_pixels_table() {
        let r = |w, h, fps| RenditionSpec {
            width: w,
            height: h,
            fps,
        };
        let cases = [
            (vec![r(1280, 720, 30.0)], 2.0, 1280u64 * 720 * 30 * 2),
            (vec![r(1280, 720, 29.97)], 2.0, 1280 * 720 * 30 * 2),
            (vec![r(1280, 720, 0.0)], 2.0, 1280 * 720 * 60 * 2),
            (vec![r(640, 360, 30.0)], 1.2, 640 * 360 * 30 * 2),
            (
                vec![r(640, 360, 30.0), r(1280, 720, 30.0)],
                2.0,
                (640 * 360 + 1280 * 720) * 30 * 2,
            ),
            (vec![], 2.0, 0),
            (vec![r(640, 360, 30.0)], 0.0, 0),
        ];
        for (renditions, seconds, want) in cases {
            assert_eq!(
                estimated_pixels(&renditions, seconds).unwrap(),
                u(want),
                "{renditions:?} {seconds}"
            );
        }
        assert!(matches!(
            estimated_pixels(&[r(1, 1, -1.0)], 2.0),
            Err(FeeError::BadFps { index: 0, .. })
        ));
        assert!(matches!(
            estimated_pixels(&[r(1, 1, f64::NAN)], 2.0),
            Err(FeeError::BadFps { .. })
        ));
        assert!(matches!(
            estimated_pixels(&[], f64::INFINITY),
            Err(FeeError::BadDuration(_))
        ));
        assert!(matches!(
            estimated_pixels(&[], -1.0),
            Err(FeeError::BadDuration(_))
        ));
    }

    #[test]
    fn fee_and_tickets_table() {
        let price = PriceInfo::per_pixel(u(1000));
        // 100 pixels × 1000 wei × 1.02 = 102_000 wei = 10_200_000 centiwei.
        let fee = estimated_fee_centiwei(u(100), &price);
        assert_eq!(fee, u(10_200_000));
        let third = PriceInfo {
            price_per_unit_wei: u(1),
            pixels_per_unit: u(3),
        };
        assert_eq!(estimated_fee_centiwei(u(3), &third), u(102));
        assert_eq!(estimated_fee_centiwei(u(1), &third), u(34));
        let ev = u(1000);
        let i = |n: i64| I256::try_from(n).unwrap();
        let cases = [
            // fee 102_000 wei, EV 1000: 102 tickets.
            (fee, i(0), 102u64),
            (fee, i(2_000), 100),
            (fee, i(101_500), 1),
            (fee, i(102_000), 0),
            (fee, i(500_000), 0),
            // Negative credit (the real fee was above the estimate) adds to what is needed.
            (fee, i(-1_000), 103),
            // Fee below EV: one EV is the minimum.
            (u(100), i(0), 1),
            (u(100), i(999), 1),
            (u(100), i(1000), 0),
            (U256::ZERO, i(0), 1),
        ];
        for (fee, credit, want) in cases {
            assert_eq!(
                tickets_needed(fee, ev, credit),
                u(want),
                "fee {fee} credit {credit}"
            );
        }
        assert_eq!(tickets_needed(fee, U256::ZERO, i(0)), U256::ZERO);
    }

    #[test]
    fn price_reduction() {
        let cases = [
            ((1000u64, 1u64), (1000u64, 1u64)),
            ((10, 4), (5, 2)),
            ((0, 5), (0, 1)),
            ((0, 0), (0, 1)),
        ];
        for ((n, d), (rn, rd)) in cases {
            let p = PriceInfo {
                price_per_unit_wei: u(n),
                pixels_per_unit: u(d),
            };
            assert_eq!(p.reduced(), (u(rn), u(rd)));
        }
    }

    fn params(fv: u64, wp: U256, expiration_block: u64) -> TicketParams {
        TicketParams {
            recipient: Address::repeat_byte(1),
            face_value_wei: u(fv),
            win_prob: wp,
            recipient_rand_hash: B256::ZERO,
            seed: U256::ZERO,
            expiration_block: u(expiration_block),
            expiration_params: ExpirationParams::default(),
            price: PriceInfo::per_pixel(u(1000)),
        }
    }

    #[test]
    fn sender_refusals_table() {
        let max_ev = u(SENDER_MAX_EV_WEI);
        let fv = 1_200_000_000_000_000u64;
        let ok_wp = win_prob(u(8_000_000_000), u(fv));
        let deposit = u(1_000_000_000_000_000_000);
        let cases: Vec<(TicketParams, u64, U256, &str)> = vec![
            (params(fv, ok_wp, 140), 100, deposit, "ok"),
            (params(fv, ok_wp, 102), 100, deposit, "ok"),
            (params(fv, ok_wp, 101), 100, deposit, "expiring"),
            (params(fv, ok_wp, 100), 100, deposit, "expiring"),
            (params(fv, ok_wp, 50), 100, deposit, "expiring"),
            (params(fv, U256::MAX, 140), 100, deposit, "ev_not_below"),
            (
                params(fv, win_prob(u(4_000_000_000_000), u(fv)), 140),
                100,
                deposit,
                "ev_too_high",
            ),
            (params(fv, ok_wp, 140), 100, u(fv - 1), "above_deposit"),
            (params(fv, ok_wp, 140), 100, u(fv), "ok"),
        ];
        for (p, block, dep, want) in cases {
            let got = match check_params(&p, block, max_ev, dep) {
                Ok(()) => "ok",
                Err(ParamsRefusal::Expiring { .. }) => "expiring",
                Err(ParamsRefusal::EvNotBelowFaceValue { .. }) => "ev_not_below",
                Err(ParamsRefusal::EvTooHigh { .. }) => "ev_too_high",
                Err(ParamsRefusal::FaceValueAboveDeposit { .. }) => "above_deposit",
            };
            assert_eq!(
                got, want,
                "exp {} block {block} dep {dep}",
                p.expiration_block
            );
        }
    }

    #[test]
    fn messages_round_trip_through_json() {
        let p = Payment {
            sender: Address::repeat_byte(2),
            ticket_params: params(1000, u(5), 140),
            tickets: vec![TicketSenderParams {
                sender_nonce: 1,
                sig: Bytes::from(vec![1u8; 65]),
            }],
            expected_price: PriceInfo::per_pixel(u(1000)),
        };
        let json = serde_json::to_vec(&p).unwrap();
        let back: Payment = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.ticket(&back.tickets[0]).sender_nonce, 1);
    }
}
