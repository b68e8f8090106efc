fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_OPENBLAS").is_some() {
        // Debian/Ubuntu: libopenblas-dev puts libopenblas.so on the default search path.
        // OPENBLAS_LIB_DIR points elsewhere (e.g. a from-source build).
        if let Some(dir) = std::env::var_os("OPENBLAS_LIB_DIR") {
            println!("cargo:rustc-link-search=native={}", dir.to_string_lossy());
        }
        println!("cargo:rerun-if-env-changed=OPENBLAS_LIB_DIR");
        println!("cargo:rustc-link-lib=dylib=openblas");
    }
}
