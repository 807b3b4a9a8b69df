//! `bellows man`: a roff page naming every subcommand, or one page per subcommand in a folder.

use clap::CommandFactory;

use crate::harness::Cli;

#[test]
fn man_prints_a_roff_page_naming_every_subcommand() {
    let out = Cli::new(["man"]).run();
    let page = out.stdout.clone();
    assert!(
        page.starts_with(".ie") || page.contains(".TH bellows 1"),
        "{page}"
    );
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    let command = bellows::cli::args::Cli::command();
    for sub in command.get_subcommands() {
        let name = sub.get_name();
        assert!(
            page.contains(&format!("bellows\\-{name}"))
                || page.contains(&format!("bellows-{name}")),
            "the page names `{name}`:\n{page}"
        );
    }
}

#[test]
fn man_dir_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    Cli::new(["man", "--dir"]).arg(dir.path()).run();
    for name in [
        "bellows.1",
        "bellows-apply.1",
        "bellows-check.1",
        "bellows-man.1",
    ] {
        let page = std::fs::read_to_string(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(page.contains(".TH"), "{name} is a roff page: {page}");
    }
    let apply = std::fs::read_to_string(dir.path().join("bellows-apply.1")).unwrap();
    assert!(apply.contains("allow\\-changed"), "{apply}");
}
