//! Network mode, the gateway's side and what both sides share: the wire types of the segment
//! protocol ([`wire`]), a small HTTP server ([`server`]), the broadcaster's HTTP client that
//! counts every byte on its sockets ([`client`]), and the shaped uplink ([`link`]).

pub mod broadcaster;
pub mod client;
pub mod link;
mod netns;
pub mod server;
pub mod summary;
pub mod wire;
