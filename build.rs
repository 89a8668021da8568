//! Compiles proto/lp_rpc.proto (the segment protocol's messages, go-livepeer's field numbers)
//! with prost-build. It needs `protoc`: Debian's protobuf-compiler, installed by scripts/setup,
//! or any protoc named by the PROTOC environment variable.

fn main() {
    println!("cargo:rerun-if-changed=proto/lp_rpc.proto");
    if let Err(e) = prost_build::compile_protos(&["proto/lp_rpc.proto"], &["proto"]) {
        panic!(
            "cannot compile proto/lp_rpc.proto: {e}; install protoc (`scripts/setup` installs \
             Debian's protobuf-compiler) or set PROTOC to its path"
        );
    }
}
