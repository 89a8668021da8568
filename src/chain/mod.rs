//! Chains that redeem winning tickets: an embedded EVM (revm) running the TicketBroker, and any
//! Ethereum JSON-RPC node. Owns contract bindings and transaction plumbing, nothing about tickets'
//! rules (those are `payments`).
