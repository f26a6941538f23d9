//! `notebuild serve`: the site served on 127.0.0.1, pages sent with the reload script
//! (the files on disk without it), nothing outside the site served, and a change to a
//! note rebuilt and announced by a new version.

#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::{Error, TestResult, fail, temp_vault, write};

/// How long the server may take to start or to rebuild before the test gives up.
const WAIT: Duration = Duration::from_secs(60);

/// The server process, killed when the test ends.
struct Serving {
    child: Child,
    port: u16,
    /// Standard error, line by line.
    lines: Receiver<String>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(vault: &Path, out: &Path) -> Result<Serving, Error> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_notebuild"))
        .arg("serve")
        .arg(vault)
        .arg("--out")
        .arg(out)
        .args(["--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut serving = Serving {
        child,
        port: 0,
        lines,
    };
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < WAIT {
        let Ok(line) = serving.lines.recv_timeout(Duration::from_millis(200)) else {
            if let Some(status) = serving.child.try_wait()? {
                return Err(fail(format!("serve exited ({status}): {seen:#?}")));
            }
            continue;
        };
        if let Some(at) = line.find("http://127.0.0.1:") {
            let port: String = line[at + 17..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            serving.port = port.parse()?;
            return Ok(serving);
        }
        seen.push(line);
    }
    Err(fail(format!("serve printed no address: {seen:#?}")))
}

/// `GET path`: the status code, the headers (lower-case names) and the body.
fn get(port: u16, path: &str) -> Result<(u16, String, String), Error> {
    get_as(port, path, "127.0.0.1")
}

/// `GET path` with a `Host` header.
fn get_as(port: u16, path: &str, host: &str) -> Result<(u16, String, String), Error> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(WAIT))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| fail(format!("not an HTTP response: {text}")))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| fail(format!("no status in {head}")))?;
    Ok((status, head.to_lowercase(), body.to_string()))
}

#[test]
fn serve_sends_the_site_and_rebuilds_when_a_note_changes() -> TestResult {
    let (dir, vault) = temp_vault(&[("Alpha.md", "# Alpha\n\nFirst version.\n")])?;
    write(dir.path(), "secret.txt", "not part of the site")?;
    let out = dir.path().join("site");
    let server = serve(&vault, &out)?;

    let (status, head, body) = get(server.port, "/alpha.html")?;
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(body.contains("First version."), "{body}");
    assert!(
        body.contains("/__notebuild/version"),
        "the page reloads itself"
    );
    let on_disk = std::fs::read_to_string(out.join("alpha.html"))?;
    assert!(
        !on_disk.contains("__notebuild"),
        "the site on disk is the one `build` writes"
    );

    let (status, head, _) = get(server.port, "/static/style.css")?;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/css"), "{head}");
    let (status, _, body) = get(server.port, "/")?;
    assert_eq!(status, 200);
    assert!(body.contains("Alpha"), "/ is the index page");
    for outside in ["/../secret.txt", "/%2e%2e/secret.txt", "/nothing.html"] {
        let (status, _, body) = get(server.port, outside)?;
        assert_eq!(status, 404, "{outside}: {body}");
        assert!(!body.contains("not part of the site"));
    }

    // a page elsewhere that points its own name at 127.0.0.1 gets nothing
    let (status, _, body) = get_as(server.port, "/alpha.html", "notes.example.com")?;
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = get_as(server.port, "/alpha.html", "localhost")?;
    assert_eq!(status, 200);

    let (_, _, before) = get(server.port, "/__notebuild/version")?;
    write(&vault, "Alpha.md", "# Alpha\n\nSecond version.\n")?;
    let start = Instant::now();
    loop {
        let (_, _, now) = get(server.port, "/__notebuild/version")?;
        if now != before {
            break;
        }
        if start.elapsed() > WAIT {
            return Err(fail("the site was not rebuilt after the note changed"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, _, body) = get(server.port, "/alpha.html")?;
    assert!(body.contains("Second version."), "{body}");
    Ok(())
}

#[test]
fn a_client_that_never_reads_does_not_hold_up_the_others() -> TestResult {
    let (dir, vault) = temp_vault(&[("Alpha.md", "# Alpha\n\nHello.\n")])?;
    // An attachment far larger than a socket's buffers.
    write(&vault, "big.bin", vec![b'x'; 16 << 20])?;
    let out = dir.path().join("site");
    let server = serve(&vault, &out)?;
    // Two clients pipeline requests for it and never read.
    let mut stuck = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port))?;
        for _ in 0..4 {
            write!(
                stream,
                "GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
                server.port
            )?;
        }
        stuck.push(stream);
    }
    std::thread::sleep(Duration::from_millis(300));
    // Another client is still answered (a hang would end in the read timeout, WAIT).
    let (status, _, body) = get(server.port, "/alpha.html")?;
    assert_eq!(status, 200);
    assert!(body.contains("Hello."), "{body}");
    // Host names are compared without case, and parsed strictly.
    let (status, _, _) = get_as(server.port, "/alpha.html", "LOCALHOST")?;
    assert_eq!(status, 200);
    let (status, _, _) = get_as(server.port, "/alpha.html", "localhost:80@evil.com")?;
    assert_eq!(status, 403);
    drop(stuck);
    Ok(())
}

#[test]
fn a_failed_rebuild_is_reported_and_the_next_change_still_publishes() -> TestResult {
    let (dir, vault) = temp_vault(&[("Alpha.md", "# Alpha\n\nFirst version.\n")])?;
    let out = dir.path().join("site");
    let server = serve(&vault, &out)?;
    let wait_for = |what: &str| -> TestResult {
        let start = Instant::now();
        while start.elapsed() < WAIT {
            if let Ok(line) = server.lines.recv_timeout(Duration::from_millis(200))
                && line.contains(what)
            {
                return Ok(());
            }
        }
        Err(fail(format!("serve never printed {what:?}")))
    };
    // without its marker the output folder is no longer notebuild's: the rebuild fails
    let marker = out.join(".notebuild-site");
    let mark = std::fs::read(&marker)?;
    std::fs::remove_file(&marker)?;
    write(&vault, "Alpha.md", "# Alpha\n\nSecond version.\n")?;
    wait_for("the rebuild failed")?;
    let (_, _, body) = get(server.port, "/alpha.html")?;
    assert!(
        body.contains("First version."),
        "the last good build: {body}"
    );
    std::fs::write(&marker, mark)?;
    write(&vault, "Alpha.md", "# Alpha\n\nThird version.\n")?;
    let start = Instant::now();
    loop {
        let (_, _, body) = get(server.port, "/alpha.html")?;
        if body.contains("Third version.") {
            return Ok(());
        }
        if start.elapsed() > WAIT {
            return Err(fail("the change after a failed rebuild was not published"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the served version differs from `before`, then until it stays put for a
/// moment (a change may be seen as several); returns the last version.
fn settled_after(port: u16, before: &str) -> Result<String, Error> {
    let start = Instant::now();
    let mut last = before.to_string();
    let mut stable_since = Instant::now();
    loop {
        let (_, _, now) = get(port, "/__notebuild/version")?;
        if now != last {
            last = now;
            stable_since = Instant::now();
        } else if last != before && stable_since.elapsed() > Duration::from_millis(600) {
            return Ok(last);
        }
        if start.elapsed() > WAIT {
            return Err(fail("the site was not rebuilt after a change"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every file under `root`, by relative path.
fn files_under(root: &Path) -> Result<std::collections::BTreeMap<String, Vec<u8>>, Error> {
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)?
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(rel, std::fs::read(&path)?);
            }
        }
    }
    Ok(files)
}

#[test]
fn after_edits_renames_and_deletions_the_served_site_is_what_build_writes() -> TestResult {
    let (dir, vault) = temp_vault(&[
        (
            "Alpha.md",
            "# Alpha\n\nSee [[Missing note]] and #topic.\n\n$\\frac{d}{dx} x^2 = 2x$\n",
        ),
        ("Beta.md", "# Beta\n\n![[Alpha]]\n\nLinks [[Gamma]].\n"),
        (
            "sub/Gamma.md",
            "# Gamma\n\n#topic/sub text. $\\frac{d}{dx} x^3 = 3x$\n",
        ),
    ])?;
    let out = dir.path().join("site");
    let server = serve(&vault, &out)?;
    let (_, _, mut version) = get(server.port, "/__notebuild/version")?;
    let steps: Vec<Box<dyn Fn() -> TestResult>> = vec![
        // an edit that keeps Alpha's warning: the warning is not printed again
        Box::new(|| {
            write(
                &vault,
                "Alpha.md",
                "# Alpha\n\nSee [[Missing note]] and #topic.\n\n$\\frac{d}{dx} x^2 = 2x$\n\nMore.\n",
            )
        }),
        Box::new(|| {
            write(
                &vault,
                "Delta.md",
                "# Delta\n\n[[Beta]] and ![[Gamma]] #new-tag\n",
            )
        }),
        Box::new(|| {
            Ok(std::fs::rename(
                vault.join("Delta.md"),
                vault.join("sub/Epsilon.md"),
            )?)
        }),
        Box::new(|| Ok(std::fs::remove_file(vault.join("Beta.md"))?)),
        Box::new(|| {
            write(
                &vault,
                "sub/Gamma.md",
                "# Gamma\n\nNow right: $\\frac{d}{dx} x^3 = 3x^2$\n",
            )
        }),
    ];
    for step in &steps {
        step()?;
        version = settled_after(server.port, &version)?;
    }
    let mut printed = Vec::new();
    while let Ok(line) = server.lines.try_recv() {
        printed.push(line);
    }
    let broken = printed
        .iter()
        .filter(|l| l.contains("`Missing note` does not exist"))
        .count();
    assert_eq!(
        broken, 0,
        "an unchanged warning was printed again: {printed:#?}"
    );
    assert!(
        printed.iter().any(|l| l.contains("as before")),
        "{printed:#?}"
    );
    let fresh = dir.path().join("fresh");
    common::build(dir.path(), &vault, &fresh, &["--no-cache", "-q"])?.expect_code(0)?;
    let served = files_under(&out)?;
    let built = files_under(&fresh)?;
    assert_eq!(
        served.keys().collect::<Vec<_>>(),
        built.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &built {
        assert!(served[path] == *bytes, "{path} differs from a fresh build");
    }
    Ok(())
}
