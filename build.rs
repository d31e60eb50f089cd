//! Compiles `proto/` into Rust with the pure-Rust `protox` compiler, so that a
//! fresh machine needs no system `protoc`. The encoded descriptor set is also
//! written to `OUT_DIR` for gRPC server reflection, and the default model
//! is copied there to be built into the binary.

use std::path::PathBuf;

use prost::Message;

const PROTO_ROOT: &str = "proto";
const DEFAULT_MODEL: &str = "models/default.json";
const PROTO_FILES: &[&str] = &[
    "proto/moderation/v1/messages.proto",
    "proto/moderation/v1/service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={file}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    // The default model is built into the binary. A checkout that has not
    // trained one yet still builds (with an empty stand-in that the service
    // refuses to load with a clear message), so `moderato train` can make it.
    println!("cargo:rerun-if-changed={DEFAULT_MODEL}");
    let model = std::fs::read(DEFAULT_MODEL).unwrap_or_default();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("default_model.json"), model)?;

    let descriptors = protox::compile(PROTO_FILES, [PROTO_ROOT])?;
    std::fs::write(
        out_dir.join("moderation_v1_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Prost's codec, with a message that does not decode refused as
        // INVALID_ARGUMENT (see src/grpc/codec.rs).
        .codec_path("crate::grpc::codec::MessageCodec")
        .compile_fds(descriptors)?;
    Ok(())
}
