//! Section 4: `dnsperf` against pullsim's Azure DNS (the July 2021 recipe's state) and
//! against `unbound` serving the same records with `local-data`, from the public side
//! and from a VNET source address (`dnsperf -a`; unbound picks the same records for that
//! source with `access-control-view`).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use mock_azure::acr::generate_image;
use mock_azure::dns::View;
use mock_azure::netplan::{AddressMap, Modeled};

use pullsim::embedded::{Env, EnvOptions};

use crate::Cfg;
use crate::procs::{Proc, free_port, run_bounded, show};
use crate::recipe;
use crate::stats::{Better, Figure, Summary};

/// `rcode` and the answer section as sorted `name TTL TYPE data` lines.
fn probe(from: IpAddr, to: SocketAddr, name: &str) -> anyhow::Result<(ResponseCode, BTreeSet<String>)> {
    let sock = UdpSocket::bind(SocketAddr::new(from, 0))?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(Name::from_ascii(name)?, RecordType::A));
    sock.send_to(&msg.to_vec()?, to)?;
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).with_context(|| format!("no answer from {to} for {name}"))?;
    let reply = Message::from_vec(&buf[..n])?;
    let answers = reply
        .answers
        .iter()
        .map(|r| format!("{} {} {} {}", r.name.to_ascii().to_ascii_lowercase(), r.ttl, r.record_type(), r.data))
        .collect();
    Ok((reply.metadata.response_code, answers))
}

/// One `dnsperf` run: queries per second.
fn dnsperf(server: SocketAddr, from: Option<IpAddr>, file: &Path, secs: u64) -> anyhow::Result<(f64, String)> {
    let mut c = Command::new("dnsperf");
    c.arg("-s").arg(server.ip().to_string()).arg("-p").arg(server.port().to_string());
    if let Some(f) = from {
        c.arg("-a").arg(f.to_string());
    }
    c.arg("-d").arg(file).arg("-l").arg(secs.to_string()).args(["-c", "2", "-T", "2", "-q", "100", "-t", "2"]);
    let shown = show(&c);
    let out = run_bounded(c, Duration::from_secs(secs + 15))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    let qps = get("Queries per second:").with_context(|| format!("no qps in dnsperf output:\n{text}"))?;
    let sent = get("Queries sent:").unwrap_or(0.0);
    let lost = get("Queries lost:").unwrap_or(0.0);
    if sent > 0.0 && lost / sent > 0.01 {
        bail!("dnsperf lost {lost} of {sent} queries:\n{text}");
    }
    Ok((qps, shown))
}

/// A zone file for the root holding `records` (so unbound, authoritative for it, follows
/// every CNAME of a chain inside one answer, as pullsim's Azure DNS does).
fn zone_file(records: &BTreeSet<String>) -> String {
    let mut z = String::from(
        "$ORIGIN .\n. 3600 IN SOA ns.bench. hostmaster.bench. 1 3600 600 86400 60\n. 3600 IN NS ns.bench.\nns.bench. 3600 IN A 127.0.0.1\n",
    );
    for r in records {
        let mut it = r.splitn(3, ' ');
        let (name, ttl, rest) = (it.next().unwrap_or(""), it.next().unwrap_or(""), it.next().unwrap_or(""));
        z.push_str(&format!("{name} {ttl} IN {rest}\n"));
    }
    z
}

/// unbound's configuration: authoritative (auth-zone, for downstream only) for `zone`.
fn unbound_conf(dir: &Path, port: u16, zone: &Path) -> String {
    format!(
        "server:\n  interface: 127.0.0.1@{port}\n  port: {port}\n  do-ip6: no\n  do-tcp: yes\n  num-threads: 2\n  \
         so-reuseport: yes\n  chroot: \"\"\n  username: \"\"\n  directory: \"{dir}\"\n  pidfile: \"\"\n  \
         use-syslog: no\n  logfile: \"\"\n  verbosity: 0\n  do-daemonize: no\n  module-config: \"iterator\"\n  \
         access-control: 127.0.0.0/8 allow\nauth-zone:\n  name: \".\"\n  zonefile: \"{zone}\"\n  \
         for-downstream: yes\n  for-upstream: no\n  fallback-enabled: no\nremote-control:\n  control-enable: no\n",
        dir = dir.display(),
        zone = zone.display(),
    )
}

/// Starts unbound serving `records`; waits until it answers.
async fn start_unbound(
    dir: &Path,
    name: &str,
    records: &BTreeSet<String>,
    probe_name: &str,
) -> anyhow::Result<(Proc, SocketAddr, String)> {
    let zone = dir.join(format!("{name}.zone"));
    std::fs::write(&zone, zone_file(records))?;
    let port = free_port()?;
    let conf = dir.join(format!("{name}.conf"));
    std::fs::write(&conf, unbound_conf(dir, port, &zone))?;
    let mut cmd = Command::new("unbound");
    cmd.arg("-d").arg("-c").arg(&conf);
    let shown = show(&cmd);
    let mut p = Proc::spawn(name, cmd, &dir.join(format!("{name}.log")))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut tries = 0;
    loop {
        match tokio::task::block_in_place(|| {
            probe("127.0.0.1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)), addr, probe_name)
        }) {
            Ok(_) => return Ok((p, addr, shown)),
            Err(e) if tries > 100 => return Err(e.context("unbound did not start")),
            Err(_) => {
                p.check_alive()?;
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Section 4.
pub async fn run(cfg: &Cfg, out: &mut Vec<Figure>) -> anyhow::Result<()> {
    const S: &str = "4 DNS";
    let dir = cfg.dir("dns")?;
    let env = Env::start(EnvOptions::default()).await?;
    let (r, _) = recipe::build(&env, 0, &generate_image(0, 1, 64)).await?;
    recipe::pull(&env, &r).await?;
    let names = [format!("{}.azurecr.io", r.registry), format!("{}.westeurope.data.azurecr.io", r.registry)];
    let server = env.fabric.dns_addr(&Modeled::azure_dns());
    let vnet_key = format!("{}/providers/microsoft.network/virtualnetworks/vnet", r.rg.to_ascii_lowercase());
    let vnet_src = env.map.real(&Modeled::private(&vnet_key, Ipv4Addr::new(10, 0, 1, 4)));
    let public_src: IpAddr = "127.0.0.1".parse()?;
    anyhow::ensure!(matches!(env.dns.view_of(vnet_src), View::Vnet { .. }), "{vnet_src} is not seen from the VNET");

    // The records, as pullsim answers them, for unbound's local-data.
    let mut records: [BTreeSet<String>; 2] = Default::default();
    let mut expected: Vec<(usize, String, BTreeSet<String>)> = Vec::new();
    for (v, src) in [public_src, vnet_src].into_iter().enumerate() {
        for name in &names {
            let (rc, answers) = tokio::task::block_in_place(|| probe(src, server, name))?;
            anyhow::ensure!(rc == ResponseCode::NoError && !answers.is_empty(), "pullsim: {name} from {src}: {rc:?}");
            records[v].extend(answers.iter().cloned());
            expected.push((v, name.clone(), answers));
        }
    }
    let file = dir.join("queries.txt");
    std::fs::write(&file, names.iter().map(|n| format!("{n} A\n")).collect::<String>())?;

    // Two unbound instances, one per view: unbound's views carry only local-data, which
    // answers a CNAME without following it.
    let (mut ub_pub, ub, unbound_shown) = start_unbound(&dir, "unbound-public", &records[0], &names[0]).await?;
    let (mut ub_vnet, ub_v, unbound_vnet_shown) = start_unbound(&dir, "unbound-vnet", &records[1], &names[0]).await?;
    let mut diffs = Vec::new();
    for (v, name, want) in &expected {
        let (src, to) = if *v == 0 { (public_src, ub) } else { (vnet_src, ub_v) };
        let (rc, got) = tokio::task::block_in_place(|| probe(src, to, name))?;
        if rc != ResponseCode::NoError || &got != want {
            diffs.push(format!("{name} from {src}: pullsim {want:?}, unbound {rc:?} {got:?}"));
        }
    }

    let (secs, n) = (cfg.n(1, 1) as u64, cfg.n(15, 3));
    let mut s: [Vec<f64>; 4] = Default::default();
    let mut cmds: [String; 4] = Default::default();
    tokio::task::block_in_place(|| -> anyhow::Result<()> {
        dnsperf(server, Some(public_src), &file, 1)?; // warm-up
        dnsperf(ub, Some(public_src), &file, 1)?;
        for _ in 0..n {
            for (i, (to, from)) in
                [(server, public_src), (ub, public_src), (server, vnet_src), (ub_v, vnet_src)].into_iter().enumerate()
            {
                let (q, c) = dnsperf(to, Some(from), &file, secs)?;
                s[i].push(q);
                cmds[i] = c;
            }
        }
        Ok(())
    })?;
    ub_pub.stop();
    ub_vnet.stop();
    let log = env.dns.query_log().len();
    env.stop().await;

    let answers = expected
        .iter()
        .map(|(v, name, a)| {
            format!(
                "{} {name}: {}",
                if *v == 0 { "public" } else { "vnet" },
                a.iter().cloned().collect::<Vec<_>>().join(" → ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let same = if diffs.is_empty() {
        "unbound's answers were checked equal to pullsim's (rcode, every answer record and TTL).".to_string()
    } else {
        format!("unbound's answers differ from pullsim's: {}", diffs.join("; "))
    };
    let how = |view: &str| {
        format!(
            "dnsperf (Debian) for {secs} s per sample, 2 threads, 2 clients, ≤ 100 queries outstanding, UDP, from {view}; \
             the query file cycles the two names the worker asks (login server and data endpoint, type A). pullsim: \
             the embedded environment's Azure DNS (hickory-server handler over the store, answers computed from the \
             store's DNS index, every query logged; in this process on its 2-worker runtime) holding the July 2021 \
             recipe. Peer: unbound, 2 threads, authoritative for the same records (auth-zone for the root, \
             for-downstream only, so it follows each CNAME chain inside one answer as pullsim does); one unbound \
             process per view (its views hold only local-data, which does not follow CNAMEs), so unbound does not \
             choose a view by source address while pullsim does. {n} samples, the four runs interleaved, one warm-up each. Answers: {answers}. {same} \
             Query log held {log} entries at the end (bounded)."
        )
    };
    let med = |v: &[f64]| Summary::of(v).median;
    let ratio_pub = med(&s[0]) / med(&s[1]);
    let ratio_vnet = med(&s[2]) / med(&s[3]);
    out.push(
        Figure::new(S, "dns.public_view.qps", "queries/s", Better::Higher, s[0].clone())
            .method(how("127.0.0.1 (no VNET: the public view)"), cmds[0].clone())
            .peer(
                &format!("unbound (Debian), auth-zone with the public view's records — {unbound_shown}"),
                cmds[1].clone(),
                s[1].clone(),
                "pullsim / unbound",
            )
            .goal("DNS ≥ 0.5× unbound", ratio_pub, 0.5, true),
    );
    out.push(
        Figure::new(S, "dns.vnet_view.qps", "queries/s", Better::Higher, s[2].clone())
            .method(how(&format!("{vnet_src}, the loopback address of 10.0.1.4 in the integration subnet (the VNET's view: the linked private zone)")), cmds[2].clone())
            .peer(&format!("unbound (Debian), auth-zone with the VNET view's records (a second process) — {unbound_vnet_shown}"), cmds[3].clone(), s[3].clone(), "pullsim / unbound")
            .goal("DNS ≥ 0.5× unbound", ratio_vnet, 0.5, true),
    );
    Ok(())
}
