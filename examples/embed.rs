//! Prints kbguard's word pieces and sentence vector for each line of standard input, as JSON
//! lines: what `bench/embed_reference.py` compares with Hugging Face's tokenizer and a numpy
//! forward pass. `cargo run --release --example embed -- MODEL_DIR < texts.txt`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: embed MODEL_DIR < texts.txt");
        return ExitCode::from(2);
    };
    let model = match kbguard::embed::Model::load(&dir) {
        Ok(model) => model,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("standard input: {e}");
        return ExitCode::from(2);
    }
    let lines: Vec<&str> = text.lines().collect();
    let start = std::time::Instant::now();
    let vectors = model.embed_many(&lines, &|_| {});
    eprintln!(
        "{} texts in {:.1} s",
        lines.len(),
        start.elapsed().as_secs_f64()
    );
    let dims = model.dimensions();
    for (line, v) in lines.iter().zip(vectors.chunks_exact(dims)) {
        let row = serde_json::json!({"text": line, "pieces": model.pieces(line), "v": v});
        println!("{row}");
    }
    ExitCode::SUCCESS
}
