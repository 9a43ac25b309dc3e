//! The fake Azure DNS asked by the real `dig` (Debian dnsutils), from a VNET address and
//! from outside (`-b <source>`), after building the state through the ARM API: every
//! case of docs/azure.md C that decides a pull — linked or not, missing records, the
//! NxDomainRedirect policy, custom DNS that forwards or not, a stale link after the
//! private endpoint is gone — plus TCP, EDNS and a name pullsim does not serve.
//!
//! Each test gets its own environment: a store, an ARM over it, Azure DNS on its own
//! loopback block (port 53 when it can bind it), custom servers added while it runs.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mock_azure::arm::{Arm, ArmConfig, ArmRequest, ArmResponse};
use mock_azure::dns::{
    AzureDns, CustomServer, DnsError, DnsHandle, DnsServer, Role, Upstream, View, put_custom_server,
};
use mock_azure::identity::TokenSigner;
use mock_azure::model::{PRIVATE, Store};
use mock_azure::netplan::{AZURE_DNS, AddressMap, Fabric, LoopbackMap, Modeled};
use serde_json::{Value, json};
use tokio::net::{TcpListener, UdpSocket};

const LOC: &str = "westeurope";
const REG: &str = "pullsimacr";
const LOGIN: &str = "pullsimacr.azurecr.io";
const DATA: &str = "pullsimacr.westeurope.data.azurecr.io";
const NET_API: &str = "2024-05-01";
const DNS_API: &str = "2024-06-01";

/// One environment: ARM over a store, Azure DNS serving on real loopback sockets.
struct Env {
    rt: tokio::runtime::Runtime,
    arm: Arm,
    bearer: String,
    store: Store,
    map: Arc<LoopbackMap>,
    port: u16,
    dns: Arc<AzureDns>,
    handle: DnsHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), DnsError>>>,
    ids: Ids,
}

struct Ids {
    sub: String,
    rg: String,
    vnet: String,
    spoke: String,
    registry: String,
    pe: String,
    zone: String,
    link: String,
}

impl Ids {
    fn new(sub: &str) -> Ids {
        let rg = format!("/subscriptions/{sub}/resourceGroups/rg");
        let net = format!("{rg}/providers/Microsoft.Network");
        let zone = format!("{net}/privateDnsZones/privatelink.azurecr.io");
        Ids {
            sub: sub.to_string(),
            vnet: format!("{net}/virtualNetworks/vnet"),
            spoke: format!("{net}/virtualNetworks/spoke"),
            registry: format!("{rg}/providers/Microsoft.ContainerRegistry/registries/{REG}"),
            pe: format!("{net}/privateEndpoints/acr-pe"),
            link: format!("{zone}/virtualNetworkLinks/acrlink"),
            rg,
            zone,
        }
    }
}

/// Loopback blocks handed to environments of this process, so parallel tests differ.
static NEXT_BLOCK: AtomicU32 = AtomicU32::new(0);

/// What `dig` printed, parsed.
#[derive(Debug)]
struct Dig {
    status: String,
    /// (name, type, data) of the answer section, names without the trailing dot.
    answers: Vec<(String, String, String)>,
    /// TTLs of the answer section, in order.
    ttls: Vec<u32>,
    raw: String,
}

impl Dig {
    fn addresses(&self) -> Vec<String> {
        self.answers.iter().filter(|(_, t, _)| t == "A").map(|(_, _, d)| d.clone()).collect()
    }

    fn chain(&self) -> Vec<String> {
        self.answers.iter().map(|(n, t, d)| format!("{n} {t} {d}")).collect()
    }
}

impl Env {
    /// A new environment with the July 2021 topology built through ARM.
    fn start() -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (block, port, udp, tcp) = rt.block_on(bind_azure_dns());
        let map = Arc::new(LoopbackMap::new(block));
        let store = Store::in_memory();
        let fabric = Fabric { map: map.clone(), dns_port: port, https_port: 443 };
        let dns = Arc::new(AzureDns::new(store.clone(), fabric));
        let server = DnsServer::new(dns.clone());
        let handle = server.handle();
        handle.add(Role::AzureDns, udp, tcp).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = rt.spawn(server.run(async {
            let _ = stopped.await;
        }));

        let signer = Arc::new(TokenSigner::generate().unwrap());
        let cfg = ArmConfig::new("https://127.0.0.1:1");

        let bearer = format!("Bearer {}", cfg.client_token(&signer, 3600));
        let ids = Ids::new(&cfg.subscription_id);
        let arm = Arm::new(store.clone(), signer, cfg);
        let env = Env { rt, arm, bearer, store, map, port, dns, handle, stop: Some(stop), server: Some(server), ids };
        env.build_topology();
        env
    }

    fn call(&self, method: &str, id: &str, api: &str, body: Option<Value>) -> ArmResponse {
        let mut req = ArmRequest::new(method, &format!("{id}?api-version={api}")).header("authorization", &self.bearer);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.arm.handle(&req)
    }

    /// An ARM call that must answer `status`; returns the body.
    #[track_caller]
    fn expect(&self, status: u16, method: &str, id: &str, api: &str, body: Option<Value>) -> Value {
        let r = self.call(method, id, api, body);
        assert_eq!(r.status, status, "{method} {id}: {}", String::from_utf8_lossy(&r.body));
        r.json_body()
    }

    /// Resource group, the VNET `vnet` (10.0.0.0/16: integration, pe and dns subnets) and
    /// an unlinked VNET `spoke` (10.1.0.0/16: integration, dns), a Premium registry, its private endpoint
    /// in vnet/pe with a zone group in `privatelink.azurecr.io`, and the zone linked to
    /// `vnet` only.
    fn build_topology(&self) {
        let ids = &self.ids;
        self.expect(201, "PUT", &ids.rg, "2024-11-01", Some(json!({"location": LOC})));
        for (vnet, space, subnets) in [
            (&ids.vnet, "10.0", vec![("integration", 1), ("pe", 2), ("dns", 3)]),
            (&ids.spoke, "10.1", vec![("integration", 1), ("dns", 3)]),
        ] {
            let list: Vec<Value> = subnets
                .into_iter()
                .map(|(name, n)| {
                    let mut s = json!({"name": name, "properties": {"addressPrefix": format!("{space}.{n}.0/24")}});
                    if name == "integration" {
                        s["properties"]["delegations"] =
                            json!([{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]);
                    }
                    s
                })
                .collect();
            let body = json!({"location": LOC, "properties": {
                "addressSpace": {"addressPrefixes": [format!("{space}.0.0/16")]}, "subnets": list}});
            self.expect(201, "PUT", vnet, NET_API, Some(body));
        }
        self.expect(
            201,
            "PUT",
            &ids.registry,
            "2023-07-01",
            Some(json!({"location": LOC, "sku": {"name": "Premium"}, "properties": {"adminUserEnabled": true, "dataEndpointEnabled": true}})),
        );
        let pe = self.expect(
            201,
            "PUT",
            &ids.pe,
            NET_API,
            Some(json!({"location": LOC, "properties": {
                "subnet": {"id": format!("{}/subnets/pe", ids.vnet)},
                "privateLinkServiceConnections": [{"name": "acr", "properties": {"privateLinkServiceId": ids.registry, "groupIds": ["registry"]}}],
            }})),
        );
        assert_eq!(pe["properties"]["customDnsConfigs"][0]["ipAddresses"][0], "10.0.2.4");
        assert_eq!(pe["properties"]["customDnsConfigs"][1]["ipAddresses"][0], "10.0.2.5");
        self.expect(201, "PUT", &ids.zone, DNS_API, Some(json!({"location": "global"})));
        self.expect(
            201,
            "PUT",
            &format!("{}/privateDnsZoneGroups/default", ids.pe),
            NET_API,
            Some(json!({"properties": {"privateDnsZoneConfigs": [{"name": "acr", "properties": {"privateDnsZoneId": ids.zone}}]}})),
        );
        self.link(201, "Default");
    }

    /// PUTs the zone's link to `vnet` with a resolution policy.
    fn link(&self, status: u16, policy: &str) {
        let body = json!({"location": "global", "properties": {"virtualNetwork": {"id": self.ids.vnet},
            "registrationEnabled": false, "resolutionPolicy": policy}});
        let link = self.expect(status, "PUT", &self.ids.link, DNS_API, Some(body));
        assert_eq!(link["properties"]["resolutionPolicy"], policy);
    }

    fn vnet_key(&self) -> String {
        self.ids.vnet.to_ascii_lowercase()
    }

    /// A source in the linked VNET's integration subnet.
    fn src_vnet(&self) -> Modeled {
        Modeled::private(&self.ids.vnet, Ipv4Addr::new(10, 0, 1, 4))
    }

    /// A source in the unlinked VNET's integration subnet.
    fn src_spoke(&self) -> Modeled {
        Modeled::private(&self.ids.spoke, Ipv4Addr::new(10, 1, 1, 4))
    }

    /// A source on the internet.
    fn src_internet(&self) -> Modeled {
        Modeled::public(Ipv4Addr::new(20, 50, 0, 9))
    }

    /// The registry's public addresses (login server, data endpoint), which ARM keeps
    /// to itself.
    fn public_ips(&self) -> (String, String) {
        let reg = self.store.get_key(&self.ids.registry.to_ascii_lowercase()).unwrap();
        let ip = |i: usize| reg[PRIVATE]["publicIps"][i].as_str().unwrap().to_string();
        (ip(0), ip(1))
    }

    /// Defines a custom DNS server in the store and serves its sockets on the running
    /// server (as the environment does when a scenario adds one).
    fn add_custom_server(&self, name: &str, spec: &CustomServer) -> Modeled {
        put_custom_server(&self.store, &self.ids.sub, name, spec).unwrap();
        let m = spec.modeled();
        let addr = std::net::SocketAddr::new(self.map.real(&m), self.port);
        let (udp, tcp) = self.rt.block_on(async {
            let udp = UdpSocket::bind(addr).await.unwrap_or_else(|e| panic!("bind {addr}/udp: {e}"));
            let tcp = TcpListener::bind(addr).await.unwrap_or_else(|e| panic!("bind {addr}/tcp: {e}"));
            (udp, tcp)
        });
        self.handle.add(Role::Custom(m.clone()), udp, tcp).unwrap();
        m
    }

    /// `dig` from `source` at DNS server `server` (modeled), with extra arguments.
    fn dig(&self, server: &Modeled, source: &Modeled, name: &str, extra: &[&str]) -> Dig {
        let server_ip = self.map.real(server);
        let source_ip = self.map.real(source);
        let out = Command::new("dig")
            .arg(format!("@{server_ip}"))
            .args(["-p", &self.port.to_string(), "-b", &source_ip.to_string()])
            .args(["+tries=1", "+time=5"])
            .args(extra)
            .arg(name)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run dig ({e}): install Debian dnsutils with scripts/install-test-deps.sh")
            });
        let raw = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        parse_dig(raw)
    }

    /// `dig` from `source` at `server` when no answer is expected: what it printed (one
    /// try of one second).
    fn dig_unanswered(&self, server: &Modeled, source: &Modeled, name: &str) -> String {
        let out = Command::new("dig")
            .arg(format!("@{}", self.map.real(server)))
            .args(["-p", &self.port.to_string(), "-b", &self.map.real(source).to_string()])
            .args(["+tries=1", "+time=1", name])
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run dig ({e}): install Debian dnsutils with scripts/install-test-deps.sh")
            });
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// Serves a public resolver's sockets at `ip` (as the environment does for every
    /// public address the configuration names as a DNS server).
    fn add_public_resolver(&self, ip: Ipv4Addr) -> Modeled {
        let m = Modeled::public(ip);
        let addr = std::net::SocketAddr::new(self.map.real(&m), self.port);
        let (udp, tcp) =
            self.rt.block_on(async { (UdpSocket::bind(addr).await.unwrap(), TcpListener::bind(addr).await.unwrap()) });
        self.handle.add(Role::PublicResolver(m.clone()), udp, tcp).unwrap();
        m
    }

    /// `dig` at Azure DNS.
    fn dig_azure(&self, source: &Modeled, name: &str, extra: &[&str]) -> Dig {
        self.dig(&Modeled::azure_dns(), source, name, extra)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let stopped = self.rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), server).await });
            if !std::thread::panicking() {
                assert!(matches!(stopped, Ok(Ok(Ok(())))), "the DNS server stops cleanly: {stopped:?}");
            }
        }
    }
}

/// Binds Azure DNS's sockets on `127.B.0.1` for a free block `B`: port 53 when this
/// process may bind it, else a free high port. A block another process holds is skipped.
async fn bind_azure_dns() -> (u8, u16, UdpSocket, TcpListener) {
    let seed = std::process::id().wrapping_mul(7919);
    for _ in 0..254 {
        let n = NEXT_BLOCK.fetch_add(1, Ordering::Relaxed);
        let block = u8::try_from(seed.wrapping_add(n.wrapping_mul(37)) % 254 + 1).unwrap();
        let ip = IpAddr::from([127, block, 0, 1]);
        let udp = match UdpSocket::bind((ip, 53)).await {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => match UdpSocket::bind((ip, 0)).await {
                Ok(s) => s,
                Err(_) => continue,
            },
            Err(_) => continue,
        };
        let port = udp.local_addr().unwrap().port();
        match TcpListener::bind((ip, port)).await {
            Ok(tcp) => return (block, port, udp, tcp),
            Err(_) => continue,
        }
    }
    panic!("no free loopback block for Azure DNS");
}

fn parse_dig(raw: String) -> Dig {
    let status = raw
        .split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("dig printed no status:\n{raw}"));
    let mut answers = Vec::new();
    let mut ttls = Vec::new();
    let mut in_answer = false;
    for line in raw.lines() {
        if line.starts_with(";; ANSWER SECTION") {
            in_answer = true;
            continue;
        }
        if in_answer {
            if line.trim().is_empty() || line.starts_with(";;") {
                break;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 5 {
                answers.push((f[0].trim_end_matches('.').to_string(), f[3].to_string(), f[4..].join(" ")));
                ttls.push(f[1].parse().unwrap_or_else(|_| panic!("TTL in {line}")));
            }
        }
    }
    Dig { status, answers, ttls, raw }
}

/// The public chain of the login server, ending in `ip`.
fn public_login_chain(ip: &str) -> Vec<String> {
    vec![
        format!("{LOGIN} CNAME {REG}.privatelink.azurecr.io."),
        format!("{REG}.privatelink.azurecr.io CNAME {REG}.{LOC}.fe.azcr.io."),
        format!("{REG}.{LOC}.fe.azcr.io A {ip}"),
    ]
}

fn private_login_chain() -> Vec<String> {
    vec![format!("{LOGIN} CNAME {REG}.privatelink.azurecr.io."), format!("{REG}.privatelink.azurecr.io A 10.0.2.4")]
}

#[test]
fn linked_vnet_resolves_the_login_server_through_the_cname_to_the_private_address() {
    let env = Env::start();
    let d = env.dig_azure(&env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.chain(), private_login_chain(), "{}", d.raw);
    assert_eq!(d.ttls, [60, 10], "public CNAME 60 s, the zone group's record set 10 s:\n{}", d.raw);
    // The log says which view answered, and from which modeled source.
    let entry = env.dns.query_log().into_iter().rev().find(|e| e.qname == LOGIN).unwrap();
    assert_eq!(entry.view, Some(View::Vnet { key: env.vnet_key(), name: "vnet".into() }));
    assert_eq!(entry.source_modeled, Some(env.src_vnet()));
    assert_eq!((&entry.role, entry.rcode.as_deref()), (&Role::AzureDns, Some("NOERROR")));
    assert_eq!(entry.to_json()["view"], "vnet vnet");
}

#[test]
fn unlinked_vnet_gets_the_public_chain_ending_in_the_registry_public_address() {
    let env = Env::start();
    let (login_ip, _) = env.public_ips();
    let d = env.dig_azure(&env.src_spoke(), LOGIN, &[]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.chain(), public_login_chain(&login_ip), "{}", d.raw);
    let entry = env.dns.query_log().into_iter().rev().find(|e| e.qname == LOGIN).unwrap();
    assert_eq!(entry.view, Some(View::Vnet { key: env.ids.spoke.to_ascii_lowercase(), name: "spoke".into() }));
}

#[test]
fn query_from_outside_azure_gets_the_public_chain() {
    let env = Env::start();
    let (login_ip, data_ip) = env.public_ips();
    let d = env.dig_azure(&env.src_internet(), LOGIN, &[]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.chain(), public_login_chain(&login_ip), "{}", d.raw);
    let d = env.dig_azure(&env.src_internet(), DATA, &[]);
    assert_eq!(d.addresses(), [data_ip], "{}", d.raw);
    let entry = env.dns.query_log().into_iter().rev().find(|e| e.qname == DATA).unwrap();
    assert_eq!(entry.view, Some(View::Public));
}

#[test]
fn linked_zone_without_the_record_is_nxdomain() {
    let env = Env::start();
    env.expect(200, "DELETE", &format!("{}/A/{REG}", env.ids.zone), DNS_API, None);
    let d = env.dig_azure(&env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "NXDOMAIN", "{}", d.raw);
    assert_eq!(d.chain(), [format!("{LOGIN} CNAME {REG}.privatelink.azurecr.io.")], "{}", d.raw);
    let f: Vec<&str> = d
        .raw
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(3) == Some(&"SOA"))
        .unwrap_or_else(|| panic!("no SOA:\n{}", d.raw));
    assert_eq!(f[..5], ["privatelink.azurecr.io.", "10", "IN", "SOA", "azureprivatedns.net."], "zone SOA:\n{}", d.raw);
}

#[test]
fn nx_domain_redirect_link_falls_back_to_the_public_address() {
    let env = Env::start();
    let (login_ip, _) = env.public_ips();
    env.expect(200, "DELETE", &format!("{}/A/{REG}", env.ids.zone), DNS_API, None);
    assert_eq!(env.dig_azure(&env.src_vnet(), LOGIN, &[]).status, "NXDOMAIN");
    env.link(200, "NxDomainRedirect");
    let d = env.dig_azure(&env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.addresses(), [login_ip], "{}", d.raw);
    // The data record is still there: NxDomainRedirect changes only missing names.
    assert_eq!(env.dig_azure(&env.src_vnet(), DATA, &[]).addresses(), ["10.0.2.5"]);
}

#[test]
fn data_endpoint_resolves_privately_and_is_nxdomain_when_its_record_is_missing() {
    let env = Env::start();
    let d = env.dig_azure(&env.src_vnet(), DATA, &[]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(
        d.chain(),
        [
            format!("{DATA} CNAME {REG}.{LOC}.data.privatelink.azurecr.io."),
            format!("{REG}.{LOC}.data.privatelink.azurecr.io A 10.0.2.5")
        ],
        "{}",
        d.raw
    );
    env.expect(200, "DELETE", &format!("{}/A/{REG}.{LOC}.data", env.ids.zone), DNS_API, None);
    let d = env.dig_azure(&env.src_vnet(), DATA, &[]);
    assert_eq!(d.status, "NXDOMAIN", "{}", d.raw);
    // The login server is unaffected.
    assert_eq!(env.dig_azure(&env.src_vnet(), LOGIN, &[]).addresses(), ["10.0.2.4"]);
}

#[test]
fn custom_dns_forwarding_to_azure_dns_in_the_same_vnet_gets_the_private_address() {
    let env = Env::start();
    let spec = CustomServer::new(Ipv4Addr::new(10, 0, 3, 4), &env.ids.vnet, Upstream::AzureDns);
    let custom = env.add_custom_server("dns1", &spec);
    env.expect(
        200,
        "PUT",
        &env.ids.vnet,
        NET_API,
        Some(json!({"location": LOC, "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "dhcpOptions": {"dnsServers": ["10.0.3.4"]}}})),
    );
    let d = env.dig(&custom, &env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.chain(), private_login_chain(), "{}", d.raw);
    // Azure DNS saw the query coming from the custom server, in its VNET's view.
    let log = env.dns.query_log();
    let upstream = log.iter().find(|e| e.role == Role::AzureDns && e.qname == LOGIN).unwrap();
    assert_eq!(upstream.source_modeled, Some(custom.clone()));
    assert_eq!(upstream.view, Some(View::Vnet { key: env.vnet_key(), name: "vnet".into() }));
    let asked = log.iter().find(|e| e.role == Role::Custom(custom.clone())).unwrap();
    assert_eq!((asked.view.as_ref(), asked.rcode.as_deref()), (None, Some("NOERROR")));
    assert!(asked.notes.iter().any(|n| n.contains("168.63.129.16 answered NOERROR")), "{:?}", asked.notes);
}

#[test]
fn custom_dns_in_an_unlinked_hub_forwarding_to_azure_dns_gets_the_public_address() {
    let env = Env::start();
    let (login_ip, _) = env.public_ips();
    // The zone is linked to the app's VNET, but its DNS server lives in the peered spoke,
    // which is not linked: Azure DNS answers the server with the spoke's view.
    for (from, to) in [(&env.ids.vnet, &env.ids.spoke), (&env.ids.spoke, &env.ids.vnet)] {
        env.expect(
            201,
            "PUT",
            &format!("{from}/virtualNetworkPeerings/to-other"),
            NET_API,
            Some(json!({"properties": {"remoteVirtualNetwork": {"id": to}, "allowVirtualNetworkAccess": true}})),
        );
    }
    let spec = CustomServer::new(Ipv4Addr::new(10, 1, 3, 4), &env.ids.spoke, Upstream::AzureDns);
    let custom = env.add_custom_server("spokedns", &spec);
    let d = env.dig(&custom, &env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.chain(), public_login_chain(&login_ip), "{}", d.raw);
    let upstream = env.dns.query_log().into_iter().find(|e| e.role == Role::AzureDns).unwrap();
    assert_eq!(upstream.view, Some(View::Vnet { key: env.ids.spoke.to_ascii_lowercase(), name: "spoke".into() }));
}

#[test]
fn custom_dns_with_a_public_upstream_gets_the_public_address() {
    let env = Env::start();
    let (login_ip, _) = env.public_ips();
    let spec = CustomServer::new(Ipv4Addr::new(10, 0, 3, 4), &env.ids.vnet, Upstream::Public);
    let custom = env.add_custom_server("dns1", &spec);
    let d = env.dig(&custom, &env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.chain(), public_login_chain(&login_ip), "{}", d.raw);
    assert!(
        env.dns.query_log().iter().all(|e| e.role != Role::AzureDns),
        "a server that does not forward never asks Azure DNS"
    );
}

#[test]
fn custom_dns_with_a_conditional_forwarder_for_privatelink_gets_the_private_address() {
    let env = Env::start();
    let spec = CustomServer::new(Ipv4Addr::new(10, 0, 3, 4), &env.ids.vnet, Upstream::Public)
        .with_forwarder("privatelink.azurecr.io", &[AZURE_DNS]);
    let custom = env.add_custom_server("dns1", &spec);
    let d = env.dig(&custom, &env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.chain(), private_login_chain(), "{}", d.raw);
    // Only the privatelink name went to Azure DNS.
    let asked: Vec<String> =
        env.dns.query_log().into_iter().filter(|e| e.role == Role::AzureDns).map(|e| e.qname).collect();
    assert_eq!(asked, [format!("{REG}.privatelink.azurecr.io")]);
}

#[test]
fn custom_dns_without_an_upstream_answers_servfail() {
    let env = Env::start();
    let spec = CustomServer::new(Ipv4Addr::new(10, 0, 3, 4), &env.ids.vnet, Upstream::None);
    let custom = env.add_custom_server("dns1", &spec);
    let d = env.dig(&custom, &env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "SERVFAIL", "{}", d.raw);
}

#[test]
fn deleting_the_private_endpoint_but_keeping_the_link_gives_nxdomain() {
    let env = Env::start();
    assert_eq!(env.dig_azure(&env.src_vnet(), LOGIN, &[]).addresses(), ["10.0.2.4"]);
    env.expect(200, "DELETE", &env.ids.pe, NET_API, None);
    env.expect(404, "GET", &format!("{}/A/{REG}", env.ids.zone), DNS_API, None);
    env.expect(200, "GET", &env.ids.link, DNS_API, None);
    let d = env.dig_azure(&env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "NXDOMAIN", "Azure's 'unresolvable host' from a stale link:\n{}", d.raw);
    assert_eq!(env.dig_azure(&env.src_vnet(), DATA, &[]).status, "NXDOMAIN");
}

#[test]
fn deleting_the_link_gives_the_public_address() {
    let env = Env::start();
    let (login_ip, _) = env.public_ips();
    env.expect(200, "DELETE", &env.ids.link, DNS_API, None);
    let d = env.dig_azure(&env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.chain(), public_login_chain(&login_ip), "{}", d.raw);
}

#[test]
fn tcp_gives_the_same_answer_as_udp() {
    let env = Env::start();
    let udp = env.dig_azure(&env.src_vnet(), LOGIN, &[]);
    let tcp = env.dig_azure(&env.src_vnet(), LOGIN, &["+tcp"]);
    assert_eq!((tcp.status.as_str(), tcp.chain()), (udp.status.as_str(), udp.chain()), "{}", tcp.raw);
    assert_eq!(tcp.chain(), private_login_chain());
    let entry = env.dns.query_log().into_iter().last().unwrap();
    assert_eq!(entry.protocol, "tcp");
}

#[test]
fn edns_queries_get_an_edns_answer_and_an_unknown_version_gets_badvers() {
    let env = Env::start();
    let d = env.dig_azure(&env.src_vnet(), LOGIN, &["+edns=0", "+bufsize=1232"]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert!(d.raw.contains("; EDNS: version: 0, flags:; udp: 1232"), "{}", d.raw);
    assert_eq!(d.addresses(), ["10.0.2.4"]);
    let d = env.dig_azure(&env.src_vnet(), LOGIN, &["+edns=1", "+noednsnegotiation"]);
    assert_eq!(d.status, "BADVERS", "{}", d.raw);
}

#[test]
fn names_outside_azure_are_refused() {
    let env = Env::start();
    for name in ["example.com", "azurecr.io.example.com"] {
        let d = env.dig_azure(&env.src_vnet(), name, &[]);
        assert_eq!(d.status, "REFUSED", "{}", d.raw);
        assert!(d.answers.is_empty());
    }
    // A registry that does not exist is Azure's to deny.
    assert_eq!(env.dig_azure(&env.src_internet(), "nosuchregistry.azurecr.io", &[]).status, "NXDOMAIN");
}

#[test]
fn custom_dns_forwarding_to_a_server_that_does_not_answer_gives_servfail_within_its_timeout() {
    let env = Env::start();
    let silent = Modeled::private(&env.ids.vnet, Ipv4Addr::new(10, 0, 3, 5));
    let spec = CustomServer::new(Ipv4Addr::new(10, 0, 3, 4), &env.ids.vnet, Upstream::Public)
        .with_forwarder("privatelink.azurecr.io", &[silent.ip]);
    let custom = env.add_custom_server("dns1", &spec);
    // Nothing listens at 10.0.3.5: the forward fails at once.
    let d = env.dig(&custom, &env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "SERVFAIL", "{}", d.raw);
    // Something listens but never answers: the forward times out, the client still hears.
    let _hole = std::net::UdpSocket::bind((env.map.real(&silent), env.port)).unwrap();
    let started = std::time::Instant::now();
    let d = env.dig(&custom, &env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "SERVFAIL", "{}", d.raw);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1900) && waited < Duration::from_secs(4), "{waited:?}");
    let entry = env.dns.query_log().into_iter().rev().find(|e| e.role == Role::Custom(custom.clone())).unwrap();
    assert!(entry.notes.iter().any(|n| n.contains("no answer from")), "{:?}", entry.notes);
}

#[test]
fn custom_dns_forwarding_through_another_custom_server_reaches_azure_dns_and_a_loop_fails_fast() {
    let env = Env::start();
    let (a, b) = (Ipv4Addr::new(10, 0, 3, 4), Ipv4Addr::new(10, 0, 3, 5));
    let second = env.add_custom_server("dns2", &CustomServer::new(b, &env.ids.vnet, Upstream::AzureDns));
    let first = env.add_custom_server(
        "dns1",
        &CustomServer::new(a, &env.ids.vnet, Upstream::Public).with_forwarder("privatelink.azurecr.io", &[b]),
    );
    let d = env.dig(&first, &env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.chain(), private_login_chain(), "{}", d.raw);
    let upstream = env.dns.query_log().into_iter().find(|e| e.role == Role::AzureDns).unwrap();
    assert_eq!(upstream.source_modeled, Some(second.clone()), "Azure DNS was asked by the second server");

    // dns2 now forwards privatelink back to dns1: a loop, refused before any packet goes.
    put_custom_server(
        &env.store,
        &env.ids.sub,
        "dns2",
        &CustomServer::new(b, &env.ids.vnet, Upstream::AzureDns).with_forwarder("privatelink.azurecr.io", &[a]),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let d = env.dig(&first, &env.src_vnet(), LOGIN, &[]);
    assert_eq!(d.status, "SERVFAIL", "{}", d.raw);
    assert!(started.elapsed() < Duration::from_secs(1), "a loop fails at once: {:?}", started.elapsed());
    let entry = env.dns.query_log().into_iter().rev().find(|e| e.role == Role::Custom(first.clone())).unwrap();
    assert!(entry.notes.iter().any(|n| n.contains("forwards back here")), "{:?}", entry.notes);
}

/// Issue 16: a custom DNS server is a machine at a VNET address; like every private
/// address it answers its own VNET and connected peers, and nobody else.
#[test]
fn a_custom_dns_server_answers_only_sources_that_can_reach_its_private_address() {
    let env = Env::start();
    let spec = CustomServer::new(Ipv4Addr::new(10, 0, 3, 4), &env.ids.vnet, Upstream::AzureDns);
    let custom = env.add_custom_server("dns1", &spec);
    for (who, source) in [("the internet", env.src_internet()), ("an unpeered VNET", env.src_spoke())] {
        let raw = env.dig_unanswered(&custom, &source, LOGIN);
        assert!(raw.contains("timed out") || raw.contains("no servers could be reached"), "from {who}:\n{raw}");
        assert!(!raw.contains("status:"), "from {who}: {raw}");
    }
    assert_eq!(env.dig(&custom, &env.src_vnet(), LOGIN, &[]).chain(), private_login_chain());
    // Peered both ways, the spoke reaches it.
    for (from, to) in [(&env.ids.vnet, &env.ids.spoke), (&env.ids.spoke, &env.ids.vnet)] {
        env.expect(
            201,
            "PUT",
            &format!("{from}/virtualNetworkPeerings/to-other"),
            NET_API,
            Some(json!({"properties": {"remoteVirtualNetwork": {"id": to}, "allowVirtualNetworkAccess": true}})),
        );
    }
    let d = env.dig(&custom, &env.src_spoke(), LOGIN, &[]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
}

/// Issue 16: a public address used as a DNS server is an internet resolver: the public
/// chain, whoever asks (a linked VNET included).
#[test]
fn a_public_resolver_answers_the_public_chain_even_to_a_linked_vnet() {
    let env = Env::start();
    let (login_ip, _) = env.public_ips();
    let google = env.add_public_resolver(Ipv4Addr::new(8, 8, 8, 8));
    for source in [env.src_vnet(), env.src_internet()] {
        let d = env.dig(&google, &source, LOGIN, &[]);
        assert_eq!(d.status, "NOERROR", "{}", d.raw);
        assert_eq!(d.chain(), public_login_chain(&login_ip), "{}", d.raw);
    }
    let d = env.dig(&google, &env.src_vnet(), "example.com", &[]);
    assert_eq!(d.status, "REFUSED", "pullsim answers Azure's names only: {}", d.raw);
}
