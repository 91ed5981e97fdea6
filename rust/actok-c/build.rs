//! Generates the C header from the sources into `OUT_DIR/actok.h`. The committed
//! `include/actok.h` must equal it (the crate's `header_is_generated` test; run it with
//! `ACTOK_BLESS_HEADER=1` to rewrite the committed file).

fn main() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo");
    let out_dir = std::env::var("OUT_DIR").expect("set by cargo");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml"))
        .expect("rust/actok-c/cbindgen.toml is readable and valid");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen parses rust/actok-c/src")
        .write_to_file(format!("{out_dir}/actok.h"));
}
