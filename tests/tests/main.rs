//! The end-to-end tests, one binary: each file of this folder is a module, named here.
//!
//! To add tests, add a file `tests/tests/<name>.rs` and a `mod <name>;` line below (in
//! order); `every_file_of_this_folder_is_a_module` fails until the line is there, so a
//! file is never silently left out. One binary links the workspace once instead of once
//! per file (issue 12 measured the build before and after).

mod acr_bad_input;
mod acr_skopeo;
mod arm_errors;
mod arm_rules;
mod az_acr_repository;
mod az_authz;
mod az_cli;
mod az_deploy;
mod capture;
mod capture_az;
mod ci_recipes;
mod cli;
mod dns_dig;
mod dns_fuzz;
mod docker_backend;
mod docs;
mod fix_loop;
mod hardening;
mod harness_imports;
mod help_examples;
mod import;
mod oracle_agrees;
mod reports;
mod rule_labels;
mod scenario_schema;
mod sdk_python;
mod serve;
mod template_corpus;
mod testcontainers_module;
mod worker_seed;

/// Every `.rs` file here but this one is declared above.
#[test]
fn every_file_of_this_folder_is_a_module() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap_or_default();
    let declared: Vec<&str> =
        main.lines().filter_map(|l| l.strip_prefix("mod ").and_then(|m| m.strip_suffix(';'))).collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(m) = name.strip_suffix(".rs")
            && m != "main"
            && !declared.contains(&m)
        {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "files of tests/tests not declared in main.rs (add `mod <name>;`): {missing:?}");
}
