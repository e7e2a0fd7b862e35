//! MCP at the command line: `countersign mcp` (the gateway's MCP server over stdio) and
//! `countersign mcp-proxy` (an approval proxy in front of another MCP server).

mod bridge;
pub mod guard;
mod proxy;
mod stdio;
mod transport;

pub use bridge::{bridge, endpoint};
pub use proxy::{ProxyConfig, serve};
