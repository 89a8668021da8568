//! Transcode: the ladder, and one long-lived transcoder per session that decodes each segment once
//! and encodes every rendition (CPU libx264, NVIDIA NVENC, or hybrid NVDEC + libx264).

pub mod ladder;
