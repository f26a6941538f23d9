//! Textbook identities: `tests/textbook/vault` holds notes of derivative identities
//! as study notes state them (matrix-calculus reference tables, a deep-learning
//! primer, common ML derivations; some notes name their layout, some do not), and
//! `tests/textbook/key.json` says which are true (`expect: pass`) or false
//! (`expect: fail`), each checked numerically when the key was written.
//!
//! The checker must never contradict the key (a false alarm or a false pass fails
//! this test with every such identity listed), and its coverage may not fall below
//! the floors below: raise them as the checker learns more.

#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Error, TestResult, fail, notebuild};
use serde_json::Value;

/// True identities verified, at least.
const TRUE_VERIFIED: usize = 132;
/// False identities caught, at least.
const FALSE_CAUGHT: usize = 49;

#[test]
fn the_checker_agrees_with_the_textbook_key() -> TestResult {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/textbook");
    let key: Value = serde_json::from_str(&std::fs::read_to_string(root.join("key.json"))?)
        .map_err(|e| fail(format!("key.json: {e}")))?;
    let key = key
        .as_array()
        .ok_or_else(|| fail("key.json is not a list"))?;
    let vault = root.join("vault");
    let run = notebuild(
        &root,
        [
            "check".as_ref(),
            vault.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
    )?;
    let report: Value = serde_json::from_str(&run.stdout)
        .map_err(|e| fail(format!("not JSON ({e}): {}", run.stderr)))?;
    let mut found: BTreeMap<(String, u64), (String, String)> = BTreeMap::new();
    for i in report["identities"].as_array().into_iter().flatten() {
        let file = i["file"].as_str().unwrap_or_default().to_string();
        let line = i["line"].as_u64().unwrap_or_default();
        let status = i["status"].as_str().unwrap_or_default().to_string();
        let message = i["message"].as_str().unwrap_or_default().to_string();
        found.entry((file, line)).or_insert((status, message));
    }
    let (mut verified, mut caught, mut wrong, mut trues, mut falses) = (0, 0, Vec::new(), 0, 0);
    for e in key {
        let file = e["file"].as_str().unwrap_or_default().to_string();
        let line = e["line"].as_u64().unwrap_or_default();
        let expect = e["expect"].as_str().unwrap_or_default();
        let got = found.get(&(file.clone(), line));
        let status = got.map_or("missing", |(s, _)| s.as_str());
        match (expect, status) {
            ("pass", "pass") => verified += 1,
            ("fail", "fail") => caught += 1,
            ("pass", "fail") | ("fail", "pass") => wrong.push(format!(
                "{file}:{line}: expected {expect}, got {status} ({}) — {}",
                got.map_or("", |(_, m)| m.as_str()),
                e["why"].as_str().unwrap_or_default()
            )),
            _ => {}
        }
        match expect {
            "pass" => trues += 1,
            _ => falses += 1,
        }
    }
    if key.is_empty() || trues == 0 || falses == 0 {
        return Err(fail("the key is empty"));
    }
    let summary = format!(
        "true verified {verified}/{trues}, false caught {caught}/{falses}, wrong verdicts {}",
        wrong.len()
    );
    if !wrong.is_empty() {
        return Err(Error::from(format!("{summary}:\n{}", wrong.join("\n"))));
    }
    if verified < TRUE_VERIFIED || caught < FALSE_CAUGHT {
        return Err(Error::from(format!(
            "{summary}: below the floors ({TRUE_VERIFIED} verified, {FALSE_CAUGHT} caught)"
        )));
    }
    println!("{summary}");
    Ok(())
}
