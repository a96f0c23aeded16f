//! The machine-readable result of one run (`bench/results/<date>-<commit>.json`):
//! where and when it ran, the exact commands, and every sample of every
//! measurement, with medians and min–max spreads precomputed.
//!
//! A measurement is one figure (e.g. "echo 64x128 req/s") taken for
//! several contenders (coring and its peers) in the same run, round after
//! round with the contenders interleaved, so every ratio in the report
//! compares numbers taken minutes apart under the same load.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// serde_json writes a NaN (a sample that failed, a load average that
/// could not be read) as `null`; these read it back as NaN.
mod nan {
    use serde::{Deserialize, Deserializer};

    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    pub fn vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let v = Vec::<Option<f64>>::deserialize(d)?;
        Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }

    pub fn three<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 3], D::Error> {
        let v = <[Option<f64>; 3]>::deserialize(d)?;
        Ok(v.map(|x| x.unwrap_or(f64::NAN)))
    }
}

/// Bumped when the layout changes incompatibly.
pub const SCHEMA: u32 = 1;

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct RunFile {
    pub schema: u32,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub date: String,
    /// `git rev-parse --short HEAD`, and whether the tree had changes.
    pub commit: String,
    pub dirty: bool,
    /// `full`, `quick` or `smoke`.
    pub mode: String,
    /// The command line that started the run.
    pub command: String,
    pub machine: Machine,
    pub groups: Vec<GroupResult>,
    pub seconds: f64,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Machine {
    pub cpu_model: String,
    /// Online CPUs, and the CPUs this process may run on.
    pub cpus: usize,
    pub allowed_cpus: Vec<usize>,
    pub kernel: String,
    pub mem_total_kib: u64,
    pub rustc: String,
    /// `/proc/loadavg`'s 1, 5 and 15 minute figures.
    #[serde(deserialize_with = "nan::three")]
    pub load_before: [f64; 3],
    #[serde(deserialize_with = "nan::three")]
    pub load_after: [f64; 3],
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct GroupResult {
    pub name: String,
    pub title: String,
    /// Commands run for this group (servers, clients, builds), exactly.
    pub commands: Vec<String>,
    /// Set-up notes (pinning, sizes, rounds) printed with the table.
    pub notes: Vec<String>,
    pub measurements: Vec<Measurement>,
    /// Why the group, or part of it, did not run.
    pub skipped: Vec<String>,
    #[serde(deserialize_with = "nan::three")]
    pub load_before: [f64; 3],
    #[serde(deserialize_with = "nan::three")]
    pub load_after: [f64; 3],
    pub seconds: f64,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Measurement {
    pub name: String,
    pub unit: String,
    pub higher_is_better: bool,
    pub entries: Vec<Entry>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Entry {
    pub contender: String,
    #[serde(deserialize_with = "nan::vec")]
    pub samples: Vec<f64>,
    #[serde(deserialize_with = "nan::f64")]
    pub median: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub min: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub max: f64,
}

impl Entry {
    pub fn new(contender: &str) -> Entry {
        Entry {
            contender: contender.to_string(),
            ..Entry::default()
        }
    }

    pub fn push(&mut self, v: f64) {
        self.samples.push(v);
        let mut s: Vec<f64> = self
            .samples
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        s.sort_by(|a, b| a.total_cmp(b));
        if s.is_empty() {
            (self.median, self.min, self.max) = (f64::NAN, f64::NAN, f64::NAN);
            return;
        }
        let n = s.len();
        self.median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        self.min = s[0];
        self.max = s[n - 1];
    }
}

impl Measurement {
    pub fn entry(&self, contender: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.contender == contender)
    }

    /// The coring contender of this measurement: the first whose name
    /// starts with "coring" (the baseline of every ratio).
    pub fn baseline(&self) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.contender.starts_with("coring"))
    }

    /// coring's median ÷ `peer`'s.
    pub fn ratio(&self, peer: &str) -> Option<f64> {
        self.ratio_of(&self.baseline()?.contender, peer)
    }

    /// `subject`'s median ÷ `peer`'s (for a coring contender other than
    /// the baseline).
    pub fn ratio_of(&self, subject: &str, peer: &str) -> Option<f64> {
        let (b, p) = (self.entry(subject)?, self.entry(peer)?);
        (p.median != 0.0 && b.median.is_finite() && p.median.is_finite())
            .then(|| b.median / p.median)
    }
}

impl GroupResult {
    pub fn new(name: &str, title: &str) -> GroupResult {
        GroupResult {
            name: name.into(),
            title: title.into(),
            ..GroupResult::default()
        }
    }

    /// Adds one sample of `contender` to the measurement `name`, creating
    /// either on first use (so the table keeps the order things ran in).
    pub fn add(&mut self, name: &str, unit: &str, higher: bool, contender: &str, v: f64) {
        let m = match self.measurements.iter().position(|m| m.name == name) {
            Some(i) => &mut self.measurements[i],
            None => {
                self.measurements.push(Measurement {
                    name: name.into(),
                    unit: unit.into(),
                    higher_is_better: higher,
                    entries: Vec::new(),
                });
                self.measurements.last_mut().unwrap()
            }
        };
        let e = match m.entries.iter().position(|e| e.contender == contender) {
            Some(i) => &mut m.entries[i],
            None => {
                m.entries.push(Entry::new(contender));
                m.entries.last_mut().unwrap()
            }
        };
        e.push(v);
    }

    pub fn measurement(&self, name: &str) -> Option<&Measurement> {
        self.measurements.iter().find(|m| m.name == name)
    }

    pub fn command(&mut self, c: impl Into<String>) {
        let c = c.into();
        if !self.commands.contains(&c) {
            self.commands.push(c);
        }
    }
}

impl RunFile {
    pub fn group(&self, name: &str) -> Option<&GroupResult> {
        self.groups.iter().find(|g| g.name == name)
    }

    pub fn file_name(&self) -> String {
        let day: String = self.date.chars().take(10).collect();
        let time: String = self
            .date
            .chars()
            .skip(11)
            .take(8)
            .filter(|c| *c != ':')
            .collect();
        format!("{day}-{time}-{}-{}.json", self.commit, self.mode)
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(self.file_name());
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&path, text + "\n")?;
        Ok(path)
    }

    pub fn read(path: &Path) -> std::io::Result<RunFile> {
        let text = std::fs::read_to_string(path)?;
        let run: RunFile = serde_json::from_str(&text).map_err(std::io::Error::other)?;
        if run.schema != SCHEMA {
            return Err(std::io::Error::other(format!(
                "{}: schema {} (this report reads {SCHEMA})",
                path.display(),
                run.schema
            )));
        }
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_keeps_median_and_spread() {
        let mut e = Entry::new("coring");
        for v in [3.0, 1.0, 2.0, f64::NAN, 10.0] {
            e.push(v);
        }
        assert_eq!((e.median, e.min, e.max), (2.5, 1.0, 10.0));
        assert_eq!(e.samples.len(), 5);
    }

    #[test]
    fn failed_samples_survive_the_file() {
        let mut e = Entry::new("fio");
        e.push(f64::NAN);
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.contains("null"));
        let back: Entry = serde_json::from_str(&text).unwrap();
        assert!(back.samples[0].is_nan() && back.median.is_nan());
    }

    #[test]
    fn ratio_is_coring_over_peer() {
        let mut g = GroupResult::new("core", "t");
        g.add("m", "ns", false, "coring", 50.0);
        g.add("m", "ns", false, "monoio", 100.0);
        assert_eq!(g.measurement("m").unwrap().ratio("monoio"), Some(0.5));
    }
}
