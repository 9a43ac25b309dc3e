//! The fake Azure DNS: 168.63.129.16 as each VNET sees it, the public side of Azure's
//! names, and the custom DNS servers a VNET can point at (issue 3, docs/azure.md C).
//!
//! pullsim is not a general resolver: it answers the names of Azure's namespaces
//! ([`names::AZURE_SUFFIXES`]) and of private DNS zones, and refuses everything else
//! (`REFUSED`), so a client that leaks a query to the internet learns it at once instead
//! of getting an answer pullsim made up.
//!
//! # Layout
//! Dependencies point down this list (a file uses only files below it):
//! - [`server`]: the hickory `RequestHandler` per socket role and the server that serves
//!   sockets the caller bound, adding more while it runs.
//! - `service`: [`AzureDns`], the state every handler shares (store, fabric, query log).
//! - [`public`]: the internet's resolvers: every public address the configuration names
//!   as a DNS server answers with the public view.
//! - [`log`]: the bounded query log (who asked what, which view answered).
//! - [`custom`]: custom DNS servers (`Pullsim.Dns/customServers` in the same store), their
//!   index per store sequence number, and how they forward.
//! - `resolve`: the views: a VNET's linked private zones first, then the public view;
//!   the answers remembered per snapshot.
//! - `snapshot`: the index of the store's DNS-relevant resources (from the store's typed
//!   views), one per store sequence number.
//! - [`client`]: the one DNS client (UDP, TCP on truncation, a deadline, a chosen source
//!   address): what a forwarding server, the App Service worker and `pullsim component
//!   dig` send.
//! - [`names`], `role`, `error`: Azure's public namespaces and names, what a socket is,
//!   the errors.
//!
//! Every per-store cache (snapshot, answers, custom servers) is a [`Store::derived`](crate::model::Store::derived)
//! value: a commit moves the sequence number and the next query rebuilds it.
//!
//! # How a query is answered
//! A socket has a [`Role`]. A public resolver's socket answers with the public view. A
//! custom server's socket answers only a source that can reach its private address (its
//! VNET or a connected peer). On the Azure DNS socket the query's *source address* picks
//! the view: the address map turns it into a modeled address; a VNET address gets that
//! VNET's view, anything else the public view. On a custom server's socket the server
//! looks itself up in the store and forwards (conditional forwarders first, then its
//! upstream) — to Azure DNS over a real query sent from its own real address, so Azure
//! DNS sees the custom server's VNET, exactly as hub-and-spoke DNS behaves in Azure.

pub mod client;
pub mod custom;
mod error;
pub mod log;
pub mod names;
pub mod public;
mod resolve;
mod role;
pub mod server;
mod service;
mod snapshot;

pub use custom::{
    CUSTOM_SERVER_TYPE, ConditionalForwarder, CustomServer, Upstream, custom_server_id, delete_custom_server,
    dns_servers_to_ask, list_custom_servers, locate_dns_server, put_custom_server,
};
pub use error::DnsError;
pub use log::{LogEntry, QueryLog};
pub use names::valid_dns_name;
pub use public::public_resolvers;
pub use resolve::{Resolution, View, rcode_name};
pub use role::Role;
pub use server::{DnsHandle, DnsServer, serve};
pub use service::{AzureDns, DEFAULT_FORWARD_TIMEOUT};
