//! `notebuild serve`: the built site on a local web server, rebuilt when the vault
//! changes, with open pages reloaded after each rebuild.
//!
//! The site on disk stays exactly what `notebuild build` writes: the server adds the
//! reload script to the HTML pages it sends, and answers `/__notebuild/version` (a
//! number that goes up with every rebuild) for that script to poll. Only files inside
//! the output folder are served, to this machine only (127.0.0.1).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

/// The path the reload script polls.
pub const VERSION_PATH: &str = "/__notebuild/version";

/// How often open pages ask whether the site was rebuilt.
const POLL_MS: u32 = 700;

/// Requests answered at once, each on a thread of its own.
const RESPONDERS: usize = 256;

/// Changes closer together than this are one rebuild (an editor's save writes
/// several times, within a few milliseconds: truncating and writing, or writing a
/// temporary file and renaming it over the note). A save caught half-way is rebuilt
/// again once its last write comes, so the site still ends as the vault is.
const SETTLE: Duration = Duration::from_millis(20);

/// The running server: its port, and the version to bump after a rebuild.
pub struct Server {
    pub port: u16,
    version: Arc<AtomicU64>,
}

impl Server {
    /// Starts serving `site` on 127.0.0.1:`port` (0: any free port), on its own
    /// thread.
    pub fn start(site: &Path, port: u16) -> Result<Server, String> {
        let http = tiny_http::Server::http(("127.0.0.1", port)).map_err(|e| {
            if port == 0 {
                format!("cannot start a web server on 127.0.0.1: {e}")
            } else {
                format!("cannot serve on port {port}: {e}")
            }
        })?;
        let port = http
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or("the web server has no IP address")?;
        let version = Arc::new(AtomicU64::new(1));
        let site = site.to_path_buf();
        let shared = Arc::clone(&version);
        // Each request is answered on a thread of its own, so that a client that does not
        // read its responses (tiny_http writes them in order on a connection) holds up
        // only its own requests; at most `RESPONDERS` are answered at once, the next one
        // waiting for a free place.
        let active = Arc::new((std::sync::Mutex::new(0usize), std::sync::Condvar::new()));
        std::thread::spawn(move || {
            for request in http.incoming_requests() {
                let (count, freed) = &*active;
                let Ok(mut n) = count.lock() else { return };
                while *n >= RESPONDERS {
                    n = match freed.wait(n) {
                        Ok(n) => n,
                        Err(_) => return,
                    };
                }
                *n += 1;
                drop(n);
                let site = site.clone();
                let shared = Arc::clone(&shared);
                let active = Arc::clone(&active);
                std::thread::spawn(move || {
                    respond(request, &site, &shared);
                    let (count, freed) = &*active;
                    if let Ok(mut n) = count.lock() {
                        *n -= 1;
                        freed.notify_one();
                    }
                });
            }
        });
        Ok(Server { port, version })
    }

    /// Tells open pages to reload.
    pub fn rebuilt(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }
}

/// What the watcher saw of one file-system event.
#[derive(Debug)]
pub enum Seen {
    /// Changes to these files or folders: each as the event named it, and its path
    /// relative to the vault (`/`-separated, as [`crate::vault`] writes it).
    Paths(Vec<(PathBuf, String)>),
    /// Something the paths do not tell (the watcher lost events, or an error): the
    /// vault must be walked again.
    Rescan,
}

/// The changes [`next_change`] gathered since the last rebuild, for
/// [`crate::live::Live::update`]: which files to read again, or that the whole vault
/// must be walked.
#[derive(Debug, Default)]
pub struct Changed {
    /// Vault-relative paths, each once, with the path the watcher named.
    pub paths: std::collections::BTreeMap<String, PathBuf>,
    /// The watcher could not say what changed.
    pub rescan: bool,
}

impl Changed {
    fn note(&mut self, seen: Seen) {
        match seen {
            Seen::Paths(paths) => {
                for (abs, rel) in paths {
                    self.paths.insert(rel, abs);
                }
            }
            Seen::Rescan => self.rescan = true,
        }
        // past this many paths (a checkout, a folder copied in), walking the vault is
        // as quick, and the list stays bounded
        if self.rescan || self.paths.len() > PATHS_KEPT {
            self.rescan = true;
            self.paths.clear();
        }
    }
}

/// How many changed paths a [`Changed`] keeps before saying the vault must be
/// walked again instead.
const PATHS_KEPT: usize = 10_000;

/// Watches `vault` (recursively) and sends a message for each change to a note or an
/// attachment, naming the paths that changed; changes in hidden folders (`.obsidian`,
/// `.git`) and in `ignore` (the output folder, when it sits inside the vault) are left
/// out.
pub fn watch(
    vault: &Path,
    ignore: &[PathBuf],
) -> Result<(notify::RecommendedWatcher, Receiver<Seen>), String> {
    let (tx, rx) = channel();
    // events name paths as the vault was given or as they really are (through a
    // symbolic link, say): both forms are compared
    let both = |p: &Path| -> Vec<PathBuf> {
        let given = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let real = p.canonicalize().unwrap_or_else(|_| given.clone());
        vec![given, real]
    };
    let roots = both(vault);
    let ignore: Vec<PathBuf> = ignore.iter().flat_map(|p| both(p)).collect();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            // an error of the watcher: what changed is not known
            let _ = tx.send(Seen::Rescan);
            return;
        };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        if event.need_rescan() {
            let _ = tx.send(Seen::Rescan);
            return;
        }
        if matches!(event.kind, EventKind::Other) {
            return;
        }
        let relevant: Vec<(PathBuf, String)> = event
            .paths
            .iter()
            .filter_map(|p| {
                let rel = roots.iter().find_map(|r| p.strip_prefix(r).ok())?;
                let hidden = rel.components().any(|c| match c {
                    Component::Normal(name) => name.to_string_lossy().starts_with('.'),
                    _ => false,
                });
                (!hidden && !ignore.iter().any(|i| p.starts_with(i)))
                    .then(|| (p.clone(), crate::vault::relative_text(rel)))
            })
            .collect();
        if !relevant.is_empty() {
            let _ = tx.send(Seen::Paths(relevant));
        }
    })
    .map_err(|e| format!("cannot watch the vault: {e}"))?;
    watcher
        .watch(vault, RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", vault.display()))?;
    Ok((watcher, rx))
}

/// Waits for a change, then for the changes to settle: what changed, or `None` when
/// the watcher is gone.
pub fn next_change(changes: &Receiver<Seen>) -> Option<Changed> {
    let mut changed = Changed::default();
    changed.note(changes.recv().ok()?);
    settle(changes, &mut changed).then_some(changed)
}

/// [`next_change`], waiting at most `limit` for the first change: `Ok(None)` when the
/// watcher is gone, `Err(())` when nothing came in time.
#[allow(clippy::result_unit_err)]
pub fn next_change_within(
    changes: &Receiver<Seen>,
    limit: Duration,
) -> Result<Option<Changed>, ()> {
    let mut changed = Changed::default();
    match changes.recv_timeout(limit) {
        Ok(seen) => changed.note(seen),
        Err(RecvTimeoutError::Timeout) => return Err(()),
        Err(RecvTimeoutError::Disconnected) => return Ok(None),
    }
    Ok(settle(changes, &mut changed).then_some(changed))
}

fn settle(changes: &Receiver<Seen>, changed: &mut Changed) -> bool {
    loop {
        match changes.recv_timeout(SETTLE) {
            Ok(seen) => changed.note(seen),
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

fn respond(request: tiny_http::Request, site: &Path, version: &AtomicU64) {
    use tiny_http::{Method, Response};
    if !matches!(request.method(), Method::Get | Method::Head) {
        let _ = request.respond(Response::from_string("only GET and HEAD").with_status_code(405));
        return;
    }
    // only pages of this machine may ask (a web page elsewhere that points its own
    // name at 127.0.0.1 sends its own name as the host)
    let local = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .is_none_or(|h| is_local_host(h.value.as_str()));
    if !local {
        let _ = request.respond(Response::from_string("forbidden host").with_status_code(403));
        return;
    }
    let url = request.url().to_string();
    let path = url.split(['?', '#']).next().unwrap_or("/");
    if path == VERSION_PATH {
        let body = version.load(Ordering::SeqCst).to_string();
        let response = Response::from_string(body)
            .with_header(header("Content-Type", "text/plain; charset=utf-8"))
            .with_header(header("Cache-Control", "no-store"));
        let _ = request.respond(response);
        return;
    }
    let Some(file) = file_for(site, path) else {
        let _ = request.respond(not_found(path, version.load(Ordering::SeqCst)));
        return;
    };
    let Ok(bytes) = std::fs::read(&file) else {
        let _ = request.respond(not_found(path, version.load(Ordering::SeqCst)));
        return;
    };
    let kind = content_type(&file);
    let bytes = if kind.starts_with("text/html") {
        with_reload_script(bytes, version.load(Ordering::SeqCst))
    } else {
        bytes
    };
    let response = Response::from_data(bytes)
        .with_header(header("Content-Type", kind))
        .with_header(header("Cache-Control", "no-cache"));
    let _ = request.respond(response);
}

/// Whether a `Host` header names this machine: `localhost`, `127.0.0.1` or `[::1]`, in
/// any case, with nothing after the name but an optional `:port` of digits
/// (`localhost:80@evil.com` is another host).
fn is_local_host(host: &str) -> bool {
    let host = host.trim();
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((inside, after)) => (format!("[{inside}]"), after),
            None => return false,
        },
        None => match host.split_once(':') {
            Some((name, _)) => (name.to_owned(), &host[name.len()..]),
            None => (host.to_owned(), ""),
        },
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
        });
    port_ok
        && matches!(
            name.to_ascii_lowercase().as_str(),
            "127.0.0.1" | "localhost" | "[::1]"
        )
}

/// The file under `site` that a URL path names (a folder: its `index.html`), or
/// `None` when the path leaves the site or names nothing.
pub fn file_for(site: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = crate::extract::percent_decode(url_path);
    let mut file = site.to_path_buf();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            // a drive (`C:`) or a stream name would leave the site on Windows
            s if s.contains(['\\', '\0', ':']) => return None,
            s => file.push(s),
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

/// A response header from constants (which `tiny_http` always accepts).
fn header(name: &'static str, value: &'static str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("a header made of ASCII constants is valid")
}

fn content_type(file: &Path) -> &'static str {
    let ext = file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" | "md" => "text/plain; charset=utf-8",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        _ => "application/octet-stream",
    }
}

/// The script that reloads the page when the version differs from the one the page
/// was sent with.
fn reload_script(version: u64) -> String {
    format!(
        "<script>(function(){{var seen=\"{version}\";function poll(){{fetch(\"{VERSION_PATH}\",{{cache:\"no-store\"}})\
         .then(function(r){{return r.text();}}).then(function(v){{\
         if(v!==seen){{location.reload();return;}}setTimeout(poll,{POLL_MS});}})\
         .catch(function(){{setTimeout(poll,{POLL_MS}*3);}});}}poll();}})();</script>\n"
    )
}

fn with_reload_script(html: Vec<u8>, version: u64) -> Vec<u8> {
    let script = reload_script(version);
    let at = html
        .windows(7)
        .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
        .unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + script.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(script.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

fn not_found(path: &str, version: u64) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let escaped = crate::render::html::escape_text(path);
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head>\
         <body><h1>Not found</h1><p>The site has no <code>{escaped}</code>. \
         <a href=\"/\">Go to the index</a>.</p></body></html>"
    );
    tiny_http::Response::from_data(with_reload_script(page.into_bytes(), version))
        .with_status_code(404)
        .with_header(header("Content-Type", "text/html; charset=utf-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_is_a_local_host() {
        for host in [
            "localhost",
            "LOCALHOST",
            "LocalHost:8000",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8000",
        ] {
            assert!(is_local_host(host), "{host}");
        }
        for host in [
            "localhost:80@evil.com",
            "localhost.evil.com",
            "evil.com",
            "127.0.0.1:80:81",
            "localhost:",
            "localhost:8a",
            "[::1",
            "[::2]:80",
            "",
        ] {
            assert!(!is_local_host(host), "{host}");
        }
    }

    #[test]
    fn paths_stay_inside_the_site() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let site = dir.path().join("site");
        std::fs::create_dir_all(site.join("rules"))?;
        std::fs::write(site.join("index.html"), "i")?;
        std::fs::write(site.join("rules/chain rule.html"), "c")?;
        std::fs::write(dir.path().join("secret.txt"), "s")?;
        assert_eq!(file_for(&site, "/"), Some(site.join("index.html")));
        assert_eq!(
            file_for(&site, "/rules/chain%20rule.html"),
            Some(site.join("rules/chain rule.html"))
        );
        assert_eq!(file_for(&site, "/../secret.txt"), None);
        assert_eq!(file_for(&site, "/rules/%2e%2e/../secret.txt"), None);
        assert_eq!(file_for(&site, "/nothing.html"), None);
        assert_eq!(file_for(&site, "/%zz"), None);
        assert_eq!(file_for(&site, "/C:/index.html"), None);
        Ok(())
    }

    #[test]
    fn the_reload_script_goes_before_the_end_of_the_body() {
        let out = with_reload_script(b"<html><body><p>x</p></body></html>".to_vec(), 3);
        let text = String::from_utf8(out).unwrap_or_default();
        let script = text.find(VERSION_PATH).unwrap_or(usize::MAX);
        let end = text.find("</body>").unwrap_or(0);
        assert!(script < end, "{text}");
    }
}
