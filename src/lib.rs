//! notebuild: turn an Obsidian-style vault of math notes into a checked, linked static site.
//!
//! The pipeline, one module per stage, data flowing one way as plain structs:
//!
//! vault (walk) → parse (Obsidian markdown) → extract (headings, links, tags, math)
//! → graph (link resolution, backlinks, tags) → render (HTML pages) → site (atomic output).

pub mod cache;
pub mod check;
pub mod config;
pub mod dates;
pub mod diagnostics;
pub mod export;
pub mod extract;
pub mod graph;
pub mod live;
pub mod output;
pub mod parse;
pub mod pipeline;
pub mod render;
pub mod serve;
pub mod site;
pub mod slug;
pub mod tex;
pub mod urls;
pub mod vault;
