//! The run's payments wiring: opens the chain the configuration names, starts the payments
//! façade, and adapts the transcode ladder to the broadcaster's fee estimate. The ticket rules
//! themselves live in `crate::payments`, the chains in `crate::chain`.

use std::path::Path;

use alloy_primitives::U256;
use anyhow::{Context, Result};

use crate::chain::{self, embedded::EmbeddedConfig, rpc::RpcConfig, ChainSpec, SecretKey};
use crate::config::{ChainSettings, PaymentsSettings, RunConfig};
use crate::error::Failure;
use crate::ingest::Segment;
use crate::payments::{
    self, Key, PaymentRun, PaymentsConfig, PaymentsSummary, RedeemReport, RenditionSpec,
};
use crate::transcode::ladder::Profile;

// Key loading lives with payments; re-exported for callers of the run's payments wiring.
pub use crate::payments::tools::{operator_key, KEYSTORE_PASSWORD_ENV, KEY_ENV};

/// The embedded chain keeps its state here, inside the data directory, so that
/// `rigbench redeem --data-dir DIR` finds both the pending winners and the chain they are for.
pub fn embedded_state_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("embedded-chain")
}

/// Opens the chain named by `settings`; for rpc also returns the operator's key (the recipient).
pub fn open_chain(
    settings: &ChainSettings,
    data_dir: &Path,
    gas_price_wei: U256,
) -> Result<(Box<dyn chain::Chain>, Option<Key>)> {
    match settings {
        ChainSettings::Embedded => {
            let spec = ChainSpec::Embedded {
                state_dir: Some(embedded_state_dir(data_dir)),
                config: EmbeddedConfig {
                    gas_price_wei: u128::try_from(gas_price_wei).unwrap_or(u128::MAX),
                    ..EmbeddedConfig::default()
                },
            };
            Ok((
                chain::open(&spec).context("cannot start the embedded chain")?,
                None,
            ))
        }
        ChainSettings::Rpc { url, broker, key } => {
            let spec = ChainSpec::Rpc {
                url: url.clone(),
                operator_key: SecretKey::new(key.secret_bytes()),
                broker: *broker,
                // The node's own gas price: a fixed one below its base fee would be refused.
                config: RpcConfig::default(),
            };
            let chain =
                chain::open(&spec).with_context(|| format!("cannot use --chain-rpc {url}"))?;
            Ok((chain, Some(key.as_ref().clone())))
        }
    }
}

/// The payments side of a running benchmark.
pub struct RunPayments {
    run: PaymentRun,
}

/// A session's broadcaster, as the run loop uses it.
pub struct SessionPayments {
    payer: payments::SessionPayer,
}

/// Opens the chain and starts payments for `cfg.concurrent_sessions` sessions.
pub fn start(p: &PaymentsSettings, cfg: &RunConfig) -> Result<RunPayments> {
    std::fs::create_dir_all(&p.data_dir)
        .with_context(|| format!("cannot create --data-dir {}", p.data_dir.display()))?;
    let (chain, recipient_key) = open_chain(&p.chain, &p.data_dir, p.gas_price_wei)?;
    let mut pc = PaymentsConfig::new(p.data_dir.clone());
    pc.price_per_pixel_wei = p.price_per_pixel_wei;
    pc.ticket_ev_wei = p.ticket_ev_wei;
    pc.redeem_gas_price_wei = p.gas_price_wei;
    if let Some(rig) = cfg.rig.as_ref() {
        // The same estimate the economics size face values from (chain-aware default).
        pc.redeem_gas_estimate = rig.chain.redeem_gas();
    }
    pc.recipient_key = recipient_key;
    pc.sender_deposit_wei = p.sender_deposit_wei;
    pc.sender_reserve_wei = p.sender_reserve_wei;
    let run =
        PaymentRun::start(pc, chain, cfg.concurrent_sessions).context("cannot start payments")?;
    Ok(RunPayments { run })
}

impl RunPayments {
    /// The broadcaster of session `session`.
    pub fn session(&self, session: u32) -> Result<SessionPayments> {
        Ok(SessionPayments {
            payer: self.run.session(session)?,
        })
    }
}

/// Redeems what is pending, runs calibration if nothing won, and summarises.
pub fn finish(p: RunPayments) -> Result<PaymentsSummary> {
    p.run.finish().context("payments could not finish")
}

impl SessionPayments {
    /// Pays for one segment before it is transcoded; returns the tickets sent.
    pub fn pay_segment(&mut self, ladder: &[Profile], seg: &Segment) -> Result<u32> {
        let specs = rendition_specs(ladder);
        let paid = self
            .payer
            .pay_segment(&specs, seg.duration_seconds)
            .with_context(|| format!("payment for segment {}", seg.index))?;
        Ok(paid.tickets)
    }

    /// Debits price × output pixels after the transcode; returns the fee in wei.
    pub fn debit(&mut self, output_pixels: u64) -> Result<U256> {
        Ok(self.payer.debit(output_pixels)?)
    }
}

/// The broadcaster's view of the ladder for its fee estimate: each rendition's size and frame
/// rate (0 = passthrough, which Livepeer's estimate counts as 60 fps).
pub fn rendition_specs(ladder: &[Profile]) -> Vec<RenditionSpec> {
    ladder
        .iter()
        .map(|p| RenditionSpec {
            width: p.width,
            height: p.height,
            fps: if p.fps == 0 {
                0.0
            } else {
                f64::from(p.fps) / f64::from(p.fps_den.max(1))
            },
        })
        .collect()
}

/// `rigbench redeem`: redeems a data directory's pending winners on the chain given. The text
/// of the report is `crate::report::text::redeem`'s.
pub fn redeem(settings: &ChainSettings, data_dir: &Path) -> Result<RedeemReport, Failure> {
    let gas = crate::config::gwei_to_wei("gas price", crate::config::DEFAULT_GAS_PRICE_GWEI)
        .map_err(Failure::usage)?;
    if matches!(settings, ChainSettings::Embedded) && !embedded_state_dir(data_dir).is_dir() {
        return Err(Failure::usage(anyhow::anyhow!(
            "--data-dir {} holds no embedded-chain state; give the --data-dir of an embedded-chain run, or --chain rpc for winners issued on a node",
            data_dir.display()
        )));
    }
    let (mut chain, _) = open_chain(settings, data_dir, gas).map_err(Failure::run)?;
    payments::payer::redeem_pending(data_dir, chain.as_mut())
        .context("redemption failed")
        .map_err(Failure::run)
}
