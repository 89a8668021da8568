//! segments.csv: livepeer_bench's six columns, in order, then rigbench's, then the quality
//! columns. Each row is flushed as it is written, so a run stopped by Ctrl-C or a crash keeps
//! every finished segment.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::metering::power::model::ComponentKind;
use crate::metering::power::{PowerRecording, Status};
use crate::result::SegmentRecord;
use crate::validation::quality::RenditionQuality;

/// The quality columns, after [`HEADER`]'s: each cell holds one value per rendition in ladder
/// order, `;`-separated (`NA` for a rendition that could not be scored), and is empty when the
/// segment was not scored. SSIM over all planes (0 to 1), its luma mean, PSNR over all planes
/// and its luma mean (dB); min, p5 and mean over the rendition's frames.
pub const QUALITY_HEADER: &[&str] = &[
    "ssim_min",
    "ssim_p5",
    "ssim_mean",
    "ssim_y_mean",
    "psnr_min_db",
    "psnr_p5_db",
    "psnr_mean_db",
    "psnr_y_mean_db",
];

/// The header, livepeer_bench's columns first.
pub const HEADER: &[&str] = &[
    "timestamp",
    "session",
    "segment",
    "seg_dur",
    "transcode_time",
    "frames",
    "pixels",
    "bytes_in",
    "bytes_out",
    "renditions",
    "valid_renditions",
    "decode_errors",
    "tickets",
    "fee_wei",
    "repeat",
];

/// Writes segments.csv row by row.
pub struct SegmentsWriter {
    out: BufWriter<File>,
}

impl SegmentsWriter {
    /// Creates the file and writes the header.
    pub fn create(path: &Path) -> Result<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(header_line().as_bytes())?;
        out.flush()?;
        Ok(Self { out })
    }

    /// Appends one row (its quality cells empty) and flushes it to the file.
    pub fn write(&mut self, r: &SegmentRecord) -> Result<()> {
        self.write_with_quality(r, &[])
    }

    /// Appends one row with its renditions' quality (ladder order; empty = not scored) and
    /// flushes it to the file.
    pub fn write_with_quality(
        &mut self,
        r: &SegmentRecord,
        quality: &[Option<RenditionQuality>],
    ) -> Result<()> {
        let mut line = row_line(r);
        line.pop();
        for cell in quality_cells(quality) {
            line.push(',');
            line.push_str(&cell);
        }
        line.push('\n');
        self.out.write_all(line.as_bytes())?;
        self.out.flush()?;
        Ok(())
    }
}

/// The header line, newline-terminated.
pub fn header_line() -> String {
    format!("{},{}\n", HEADER.join(","), QUALITY_HEADER.join(","))
}

/// The quality cells of one row (see [`QUALITY_HEADER`]).
pub fn quality_cells(quality: &[Option<RenditionQuality>]) -> Vec<String> {
    let pick: [fn(&RenditionQuality) -> String; 8] = [
        |q| format!("{:.4}", q.ssim.min),
        |q| format!("{:.4}", q.ssim.p5),
        |q| format!("{:.4}", q.ssim.mean),
        |q| format!("{:.4}", q.ssim_y.mean),
        |q| format!("{:.2}", q.psnr_db.min),
        |q| format!("{:.2}", q.psnr_db.p5),
        |q| format!("{:.2}", q.psnr_db.mean),
        |q| format!("{:.2}", q.psnr_y_db.mean),
    ];
    pick.iter()
        .map(|f| {
            quality
                .iter()
                .map(|q| q.as_ref().map_or_else(|| "NA".to_string(), f))
                .collect::<Vec<_>>()
                .join(";")
        })
        .collect()
}

/// One row, newline-terminated. Durations are seconds with 4 decimals, as livepeer_bench prints
/// them (`%.4f`); the fee is an exact decimal integer of wei.
pub fn row_line(r: &SegmentRecord) -> String {
    format!(
        "{},{},{},{:.4},{:.4},{},{},{},{},{},{},{},{},{},{}\n",
        livepeer_timestamp(r.timestamp),
        r.session,
        r.segment,
        r.seg_dur,
        r.transcode_time,
        r.frames,
        r.pixels,
        r.bytes_in,
        r.bytes_out,
        r.renditions,
        r.valid_renditions,
        r.decode_errors,
        r.tickets,
        r.fee_wei,
        r.repeat
    )
}

/// Reads segments.csv back (for tests and tools); the header must be rigbench's.
pub fn read(path: &Path) -> Result<Vec<SegmentRecord>> {
    let mut rd = csv::Reader::from_path(path)?;
    let headers = rd.headers()?.clone();
    let want: Vec<&str> = HEADER.iter().chain(QUALITY_HEADER).copied().collect();
    if headers.iter().collect::<Vec<_>>() != want {
        anyhow::bail!(
            "{} does not have rigbench's segments.csv header",
            path.display()
        );
    }
    let mut out = Vec::new();
    for row in rd.records() {
        let row = row?;
        // The timestamp column is livepeer_bench's layout; the record holds a typed time.
        let text = row.get(0).unwrap_or_default();
        let t = parse_livepeer_timestamp(text).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: timestamp {text:?} is not YYYY-MM-DD HH:MM:SS[.ffff]",
                path.display()
            )
        })?;
        let mut typed = csv::StringRecord::new();
        typed.push_field(&t.to_rfc3339());
        for field in row.iter().skip(1) {
            typed.push_field(field);
        }
        out.push(typed.deserialize(Some(&headers))?);
    }
    Ok(out)
}

/// Parses [`livepeer_timestamp`]'s layout (UTC).
pub fn parse_livepeer_timestamp(text: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// Go's `2006-01-02 15:04:05.9999` layout, as livepeer_bench writes timestamps: up to four
/// fractional digits, trailing zeros (and a bare dot) trimmed.
pub fn livepeer_timestamp(t: DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let frac = format!("{:04}", t.timestamp_subsec_micros() / 100);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        base
    } else {
        format!("{base}.{frac}")
    }
}

/// `power.csv`: one row per sample. Columns are `t_seconds`, then per device `<dev>_watts` (or
/// `<dev>_watts_estimated`), `<dev>_energy_joules` (counter, where the device has one),
/// `<dev>_utilisation_percent`, and for GPUs their telemetry; then `rig_watts` (or
/// `rig_watts_estimated`; empty where unknown).
pub fn power_csv(rec: &PowerRecording) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["t_seconds".to_string()];
    for d in &rec.devices {
        let est = if d.status == Status::Estimated {
            "_estimated"
        } else {
            ""
        };
        header.push(format!("{}_watts{est}", d.device));
        header.push(format!("{}_energy_joules", d.device));
        header.push(format!("{}_utilisation_percent", d.device));
        if d.kind == ComponentKind::Gpu && d.sensor == "nvml" {
            for col in [
                "encoder_utilisation_percent",
                "decoder_utilisation_percent",
                "encoder_sessions",
                "encoder_average_fps",
                "sm_clock_mhz",
                "video_clock_mhz",
                "temperature_celsius",
                "throttle_reasons",
            ] {
                header.push(format!("{}_{col}", d.device));
            }
        }
    }
    header.push(if rec.any_estimated() {
        "rig_watts_estimated".into()
    } else {
        "rig_watts".into()
    });
    let _ = w.write_record(&header);
    for s in &rec.samples {
        let mut row = vec![format!("{:.3}", s.t_seconds)];
        for (d, r) in rec.devices.iter().zip(&s.readings) {
            row.push(r.power_watts.map(|v| format!("{v:.3}")).unwrap_or_default());
            row.push(
                r.energy_counter_joules
                    .map(|v| format!("{v:.3}"))
                    .unwrap_or_default(),
            );
            row.push(
                r.utilisation_percent
                    .map(|v| format!("{v:.1}"))
                    .unwrap_or_default(),
            );
            if d.kind == ComponentKind::Gpu && d.sensor == "nvml" {
                let g = r.gpu.clone().unwrap_or_default();
                row.push(opt(g.encoder_utilisation_percent));
                row.push(opt(g.decoder_utilisation_percent));
                row.push(opt(g.encoder_sessions));
                row.push(opt(g.encoder_average_fps));
                row.push(opt(g.sm_clock_mhz));
                row.push(opt(g.video_clock_mhz));
                row.push(opt(g.temperature_celsius));
                row.push(g.throttle_reasons.map(|v| v.join("|")).unwrap_or_default());
            }
        }
        let rig = rec.rig_watts(s).map(|w| format!("{w:.3}"));
        row.push(rig.unwrap_or_default());
        let _ = w.write_record(&row);
    }
    w.into_inner().unwrap_or_default()
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn header_starts_with_livepeer_bench_columns() {
        assert!(
            header_line().starts_with("timestamp,session,segment,seg_dur,transcode_time,frames,")
        );
        assert_eq!(
            header_line(),
            "timestamp,session,segment,seg_dur,transcode_time,frames,pixels,bytes_in,bytes_out,\
             renditions,valid_renditions,decode_errors,tickets,fee_wei,repeat,\
             ssim_min,ssim_p5,ssim_mean,ssim_y_mean,psnr_min_db,psnr_p5_db,psnr_mean_db,psnr_y_mean_db\n"
        );
    }

    #[test]
    fn timestamps_follow_go_layout() {
        let cases = [
            (0, "2026-11-24 10:00:00"),
            (120_000_000, "2026-11-24 10:00:00.12"),
            (123_456_789, "2026-11-24 10:00:00.1234"),
            (100_000, "2026-11-24 10:00:00.0001"),
        ];
        for (nanos, want) in cases {
            let t = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap()
                + chrono::Duration::nanoseconds(nanos);
            assert_eq!(livepeer_timestamp(t), want);
        }
    }

    #[test]
    fn rows_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segments.csv");
        let rec = SegmentRecord {
            timestamp: parse_livepeer_timestamp("2026-11-24 10:00:00.12").unwrap(),
            session: 1,
            segment: 2,
            seg_dur: 2.0,
            transcode_time: 0.5,
            frames: 50,
            pixels: 123,
            bytes_in: 10,
            bytes_out: 20,
            renditions: 4,
            valid_renditions: 4,
            decode_errors: 0,
            tickets: 3,
            fee_wei: "123000".into(),
            repeat: 0,
        };
        let mut w = SegmentsWriter::create(&path).unwrap();
        w.write(&rec).unwrap();
        let q = crate::validation::quality::FrameScores {
            ssim: vec![0.95, 0.97],
            ssim_y: vec![0.94, 0.96],
            psnr_db: vec![38.0, 40.0],
            psnr_y_db: vec![37.0, 39.0],
        }
        .summary();
        w.write_with_quality(&rec, &[q, None]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert!(rows[1].ends_with(",0,,,,,,,,"), "{}", rows[1]);
        assert!(
            rows[2].ends_with(
                ",0,0.9500;NA,0.9500;NA,0.9600;NA,0.9500;NA,38.00;NA,38.00;NA,39.00;NA,38.00;NA"
            ),
            "{}",
            rows[2]
        );
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].fee_wei, "123000");
        assert_eq!(back[0].pixels, 123);
        assert_eq!(back[0].timestamp, rec.timestamp);
    }
}
