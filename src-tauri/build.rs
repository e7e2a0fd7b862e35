fn main() {
    // The console embeds ui/dist (`custom-protocol`): a rebuilt UI must rebuild the console,
    // or it would ship the UI of an earlier build.
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build()
}
