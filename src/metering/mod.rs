//! Meters that run beside the transcode: power, bandwidth, throughput statistics and the hardware
//! inventory.

pub mod bandwidth;
pub mod inventory;
pub mod power;
