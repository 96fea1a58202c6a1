//! Sentence embeddings, for ranking descriptions by meaning (the opt-in `kb import --semantic`).
//!
//! The model is all-MiniLM-L6-v2 (a 6-layer BERT with mean pooling), read from the files a
//! sentence-transformers model directory holds: `config.json`, `vocab.txt` and
//! `model.safetensors`. It runs here in plain Rust over `ndarray` (whose matrix product is
//! `matrixmultiply`'s): the whole inference is one tokenizer and six identical layers, far less
//! code than a general framework would bring in, and it builds for every target kbguard does.
//! The tokenizer is BERT's uncased WordPiece, as the model's `tokenizer.json` declares it.
//! `bench/embed_reference.py` checks both against an independent numpy forward pass and
//! Hugging Face's tokenizer.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis, Slice};
use rayon::prelude::*;
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The files a model directory must hold (and that an import copies beside its vectors).
pub const MODEL_FILES: [&str; 3] = ["config.json", "vocab.txt", "model.safetensors"];

/// The longest input, in word pieces with `[CLS]` and `[SEP]` (the model was trained on 256;
/// longer text is cut, as sentence-transformers cuts it).
const MAX_PIECES: usize = 256;
/// A word longer than this (in characters) is one unknown piece, as BERT's WordPiece has it.
const MAX_WORD_CHARS: usize = 100;
/// Texts per forward pass at import: large enough for the matrix products to run at speed,
/// small enough that texts of one batch have near the same length (they are sorted by it).
const BATCH: usize = 64;

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A file of the model could not be read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A file of the model is not what this model needs.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// The part of `config.json` the forward pass needs; anything else in it is ignored.
#[derive(Deserialize)]
struct Config {
    model_type: String,
    hidden_act: String,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    vocab_size: usize,
    layer_norm_eps: f32,
}

/// `x · wᵀ + b`, with `w` as PyTorch stores it (`[out, in]`).
struct Linear {
    w: Array2<f32>,
    b: Array1<f32>,
}

impl Linear {
    fn apply(&self, x: &Array2<f32>) -> Array2<f32> {
        let mut y = x.dot(&self.w.t());
        y += &self.b;
        y
    }
}

/// Layer normalisation over each row.
struct Norm {
    g: Array1<f32>,
    b: Array1<f32>,
    eps: f32,
}

impl Norm {
    fn apply(&self, x: &mut Array2<f32>) {
        let n = x.ncols() as f32;
        for mut row in x.rows_mut() {
            let mean = row.sum() / n;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
            let scale = 1.0 / (var + self.eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&self.g).zip(&self.b) {
                *v = (*v - mean) * scale * g + b;
            }
        }
    }
}

/// One transformer layer.
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

/// A loaded sentence-embedding model: text in, a unit vector out.
pub struct Model {
    vocab: HashMap<String, u32>,
    unknown: u32,
    cls: u32,
    sep: u32,
    words: Array2<f32>,
    positions: Array2<f32>,
    segment: Array1<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    max_pieces: usize,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("dimensions", &self.dimensions())
            .field("layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

/// The tensors of a safetensors file, by name (only `F32` tensors are read).
struct Tensors {
    path: String,
    bytes: Vec<u8>,
    data_start: usize,
    index: HashMap<String, TensorInfo>,
}

#[derive(Deserialize)]
struct TensorInfo {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

impl Tensors {
    fn read(path: &Path) -> Result<Tensors, EmbedError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| EmbedError::Io {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let bad = |reason: &str| EmbedError::Format {
            path: shown.clone(),
            reason: reason.to_string(),
        };
        let header_len = bytes
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| bad("not a safetensors file (no header length)"))?;
        let header = bytes
            .get(8..8usize.saturating_add(header_len))
            .ok_or_else(|| bad("not a safetensors file (header past the end)"))?;
        let raw: HashMap<String, serde_json::Value> =
            serde_json::from_slice(header).map_err(|e| bad(&format!("safetensors header: {e}")))?;
        let mut index = HashMap::new();
        for (name, value) in raw {
            if name == "__metadata__" {
                continue;
            }
            let info: TensorInfo = serde_json::from_value(value)
                .map_err(|e| bad(&format!("safetensors header, tensor {name}: {e}")))?;
            index.insert(name, info);
        }
        Ok(Tensors {
            path: shown,
            data_start: 8 + header_len,
            bytes,
            index,
        })
    }

    /// The tensor `name` as a matrix of `shape` (a vector is one row).
    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Array2<f32>, EmbedError> {
        let bad = |reason: String| EmbedError::Format {
            path: self.path.clone(),
            reason,
        };
        let info = self
            .index
            .get(name)
            .ok_or_else(|| bad(format!("tensor {name} is missing")))?;
        if info.dtype != "F32" {
            return Err(bad(format!("tensor {name} is {}, not F32", info.dtype)));
        }
        let elements: usize = info.shape.iter().product();
        if elements != rows * cols {
            return Err(bad(format!(
                "tensor {name} has shape {:?}, not [{rows}, {cols}]",
                info.shape
            )));
        }
        let [start, end] = info.data_offsets;
        let data = self
            .bytes
            .get(self.data_start.saturating_add(start)..self.data_start.saturating_add(end))
            .filter(|d| d.len() == elements * 4)
            .ok_or_else(|| bad(format!("tensor {name}'s data lies outside the file")))?;
        let values: Vec<f32> = data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Array2::from_shape_vec((rows, cols), values).map_err(|e| bad(e.to_string()))
    }

    fn vector(&self, name: &str, len: usize) -> Result<Array1<f32>, EmbedError> {
        Ok(self.matrix(name, 1, len)?.row(0).to_owned())
    }

    fn linear(&self, name: &str, out: usize, inp: usize) -> Result<Linear, EmbedError> {
        Ok(Linear {
            w: self.matrix(&format!("{name}.weight"), out, inp)?,
            b: self.vector(&format!("{name}.bias"), out)?,
        })
    }

    fn norm(&self, name: &str, len: usize, eps: f32) -> Result<Norm, EmbedError> {
        Ok(Norm {
            g: self.vector(&format!("{name}.weight"), len)?,
            b: self.vector(&format!("{name}.bias"), len)?,
            eps,
        })
    }
}

impl Model {
    /// Loads the model in `dir` (the [`MODEL_FILES`]).
    pub fn load(dir: &Path) -> Result<Model, EmbedError> {
        let file = |name: &str| -> PathBuf { dir.join(name) };
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| EmbedError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        };
        let config_path = file("config.json");
        let config: Config =
            serde_json::from_str(&read(&config_path)?).map_err(|e| EmbedError::Format {
                path: config_path.display().to_string(),
                reason: e.to_string(),
            })?;
        let unsupported = |reason: String| EmbedError::Format {
            path: config_path.display().to_string(),
            reason,
        };
        if config.model_type != "bert" || config.hidden_act != "gelu" {
            return Err(unsupported(format!(
                "a {} model with {} activation; only BERT with gelu is supported",
                config.model_type, config.hidden_act
            )));
        }
        let hidden = config.hidden_size;
        if config.num_attention_heads == 0 || hidden % config.num_attention_heads != 0 {
            return Err(unsupported(format!(
                "{} attention heads do not divide the hidden size {hidden}",
                config.num_attention_heads
            )));
        }
        let vocab_path = file("vocab.txt");
        let vocab: HashMap<String, u32> = read(&vocab_path)?
            .lines()
            .zip(0u32..)
            .map(|(piece, id)| (piece.to_string(), id))
            .collect();
        let special = |piece: &str| {
            vocab.get(piece).copied().ok_or_else(|| EmbedError::Format {
                path: vocab_path.display().to_string(),
                reason: format!("the vocabulary has no {piece}"),
            })
        };
        let (unknown, cls, sep) = (special("[UNK]")?, special("[CLS]")?, special("[SEP]")?);
        if vocab.len() > config.vocab_size {
            return Err(EmbedError::Format {
                path: vocab_path.display().to_string(),
                reason: format!(
                    "{} pieces, more than the model's {}",
                    vocab.len(),
                    config.vocab_size
                ),
            });
        }
        let t = Tensors::read(&file("model.safetensors"))?;
        let eps = config.layer_norm_eps;
        let inner = config.intermediate_size;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(Layer {
                    query: t.linear(&format!("{p}.attention.self.query"), hidden, hidden)?,
                    key: t.linear(&format!("{p}.attention.self.key"), hidden, hidden)?,
                    value: t.linear(&format!("{p}.attention.self.value"), hidden, hidden)?,
                    attention_out: t.linear(
                        &format!("{p}.attention.output.dense"),
                        hidden,
                        hidden,
                    )?,
                    attention_norm: t.norm(
                        &format!("{p}.attention.output.LayerNorm"),
                        hidden,
                        eps,
                    )?,
                    up: t.linear(&format!("{p}.intermediate.dense"), inner, hidden)?,
                    down: t.linear(&format!("{p}.output.dense"), hidden, inner)?,
                    out_norm: t.norm(&format!("{p}.output.LayerNorm"), hidden, eps)?,
                })
            })
            .collect::<Result<Vec<Layer>, EmbedError>>()?;
        let max_positions = config.max_position_embeddings;
        Ok(Model {
            words: t.matrix(
                "embeddings.word_embeddings.weight",
                config.vocab_size,
                hidden,
            )?,
            positions: t.matrix(
                "embeddings.position_embeddings.weight",
                max_positions,
                hidden,
            )?,
            segment: t
                .matrix("embeddings.token_type_embeddings.weight", 2, hidden)?
                .row(0)
                .to_owned(),
            embedding_norm: t.norm("embeddings.LayerNorm", hidden, eps)?,
            layers,
            heads: config.num_attention_heads,
            max_pieces: MAX_PIECES.min(max_positions),
            vocab,
            unknown,
            cls,
            sep,
        })
    }

    /// The length of the vectors this model makes.
    pub fn dimensions(&self) -> usize {
        self.words.ncols()
    }

    /// The word pieces of `text` as the model reads it: `[CLS]`, the pieces (cut to fit), `[SEP]`.
    pub fn pieces(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![self.cls];
        for word in basic_words(text) {
            self.word_pieces(&word, &mut ids);
            if ids.len() >= self.max_pieces - 1 {
                break;
            }
        }
        ids.truncate(self.max_pieces - 1);
        ids.push(self.sep);
        ids
    }

    /// WordPiece: the longest known prefix, then the longest known `##` continuation, and so
    /// on; a word that cannot be covered is one unknown piece.
    fn word_pieces(&self, word: &str, ids: &mut Vec<u32>) {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() > MAX_WORD_CHARS {
            ids.push(self.unknown);
            return;
        }
        let mut out = Vec::new();
        let mut start = 0;
        let mut piece = String::new();
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                piece.clear();
                if start > 0 {
                    piece.push_str("##");
                }
                let from = chars[start].0;
                let to = chars.get(end).map_or(word.len(), |c| c.0);
                piece.push_str(&word[from..to]);
                if let Some(&id) = self.vocab.get(&piece) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            let Some(id) = found else {
                ids.push(self.unknown);
                return;
            };
            out.push(id);
            start = end;
        }
        ids.extend(out);
    }

    /// The unit vector of one text.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        self.forward(&[self.pieces(text)])
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// The unit vectors of many texts, in their order, on all cores, calling `done` with the
    /// number of texts of each batch finished. Returned as one slice of `dimensions()` per text.
    pub fn embed_many(&self, texts: &[&str], done: &(dyn Fn(usize) + Sync)) -> Vec<f32> {
        let pieces: Vec<Vec<u32>> = texts.par_iter().map(|t| self.pieces(t)).collect();
        // Texts of near the same length share a batch, so little of a batch is padding.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| (pieces[i].len(), i));
        let batches: Vec<Vec<(usize, Vec<f32>)>> = order
            .par_chunks(BATCH)
            .map(|chunk| {
                let input: Vec<Vec<u32>> = chunk.iter().map(|&i| pieces[i].clone()).collect();
                let vectors = self.forward(&input);
                done(chunk.len());
                chunk.iter().copied().zip(vectors).collect()
            })
            .collect();
        let dims = self.dimensions();
        let mut out = vec![0.0f32; texts.len() * dims];
        for (i, v) in batches.into_iter().flatten() {
            out[i * dims..(i + 1) * dims].copy_from_slice(&v);
        }
        out
    }

    /// The forward pass over a batch of piece sequences: BERT, then the mean of each text's
    /// outputs, normalised to unit length.
    fn forward(&self, batch: &[Vec<u32>]) -> Vec<Vec<f32>> {
        let hidden = self.dimensions();
        let longest = batch.iter().map(Vec::len).max().unwrap_or(0);
        let mut x = Array2::<f32>::zeros((batch.len() * longest, hidden));
        for (i, seq) in batch.iter().enumerate() {
            for (p, &id) in seq.iter().enumerate() {
                let mut row = x.row_mut(i * longest + p);
                row.assign(&self.words.row(id as usize));
                row += &self.positions.row(p);
                row += &self.segment;
            }
        }
        self.embedding_norm.apply(&mut x);
        let head = hidden / self.heads;
        let scale = 1.0 / (head as f32).sqrt();
        for layer in &self.layers {
            let (q, k, v) = (
                layer.query.apply(&x),
                layer.key.apply(&x),
                layer.value.apply(&x),
            );
            // Each text attends to its own pieces only; padding rows are never read as keys,
            // so no mask is needed (their own outputs are computed and then ignored).
            let mut context = Array2::<f32>::zeros(x.raw_dim());
            for (i, seq) in batch.iter().enumerate() {
                let rows = i * longest..i * longest + seq.len();
                for h in 0..self.heads {
                    let cols = h * head..(h + 1) * head;
                    let qh = block(&q, rows.clone(), cols.clone());
                    let kh = block(&k, rows.clone(), cols.clone());
                    let vh = block(&v, rows.clone(), cols.clone());
                    let mut scores = qh.dot(&kh.t());
                    scores *= scale;
                    softmax_rows(&mut scores);
                    block_mut(&mut context, rows.clone(), cols).assign(&scores.dot(&vh));
                }
            }
            let mut attended = layer.attention_out.apply(&context);
            attended += &x;
            layer.attention_norm.apply(&mut attended);
            let mut inner = layer.up.apply(&attended);
            inner.mapv_inplace(gelu);
            let mut out = layer.down.apply(&inner);
            out += &attended;
            layer.out_norm.apply(&mut out);
            x = out;
        }
        batch
            .iter()
            .enumerate()
            .map(|(i, seq)| mean_unit(block(&x, i * longest..i * longest + seq.len(), 0..hidden)))
            .collect()
    }
}

/// What a vectors file starts with (the format's version is its last digit).
const VECTORS_MAGIC: &[u8; 8] = b"KBGVEC1\n";

/// Unit vectors of many items (articles), several per item, stored as bytes: each vector is
/// its largest component's scale (f32) and its components as `i8` times that scale / 127. A
/// quarter of f32's size, read fast, and ranks as the f32 vectors do (cosines move by about
/// 0.004).
#[derive(Clone, Debug, PartialEq)]
pub struct Vectors {
    dimensions: usize,
    per_item: usize,
    scales: Vec<f32>,
    values: Vec<i8>,
}

impl Vectors {
    /// Quantises `values` (`dimensions` floats per vector, `per_item` vectors per item, items
    /// in order). A vector of zeros (an item with no text) is never near anything.
    pub fn new(dimensions: usize, per_item: usize, values: &[f32]) -> Vectors {
        let dimensions = dimensions.max(1);
        let mut scales = Vec::with_capacity(values.len() / dimensions);
        let mut quantised = Vec::with_capacity(values.len());
        for v in values.chunks_exact(dimensions) {
            let top = v.iter().fold(0.0f32, |a, b| a.max(b.abs()));
            scales.push(top / 127.0);
            let factor = if top > 0.0 { 127.0 / top } else { 0.0 };
            quantised.extend(v.iter().map(|x| {
                // Rounded and clamped to ±127 first, so the cast cannot truncate.
                #[allow(clippy::cast_possible_truncation)]
                let q = (x * factor).round().clamp(-127.0, 127.0) as i8;
                q
            }));
        }
        Vectors {
            dimensions,
            per_item: per_item.max(1),
            scales,
            values: quantised,
        }
    }

    /// Makes every vector of `item` zero: near nothing.
    pub fn clear(&mut self, item: usize) {
        let (from, to) = (item * self.per_item, (item + 1) * self.per_item);
        if let Some(scales) = self.scales.get_mut(from..to) {
            scales.fill(0.0);
        }
        if let Some(values) = self
            .values
            .get_mut(from * self.dimensions..to * self.dimensions)
        {
            values.fill(0);
        }
    }

    /// How many items.
    pub fn items(&self) -> usize {
        self.scales.len() / self.per_item
    }

    /// The vectors' length.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The file's bytes: magic, dimensions, vectors per item, items (u32 each), then per
    /// vector its scale and components.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + self.scales.len() * (4 + self.dimensions));
        out.extend_from_slice(VECTORS_MAGIC);
        for n in [self.dimensions, self.per_item, self.items()] {
            out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
        }
        for (scale, v) in self
            .scales
            .iter()
            .zip(self.values.chunks_exact(self.dimensions))
        {
            out.extend_from_slice(&scale.to_le_bytes());
            out.extend(v.iter().map(|x| x.to_le_bytes()[0]));
        }
        out
    }

    /// Reads what [`Vectors::to_bytes`] wrote; `None` when the bytes are not such a file.
    pub fn from_bytes(bytes: &[u8]) -> Option<Vectors> {
        let rest = bytes.strip_prefix(VECTORS_MAGIC.as_slice())?;
        let number = |i: usize| -> Option<usize> {
            let b = rest.get(i * 4..i * 4 + 4)?;
            usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()
        };
        let (dimensions, per_item, items) = (number(0)?, number(1)?, number(2)?);
        let body = rest.get(12..)?;
        let stride = 4usize.checked_add(dimensions)?;
        let count = items.checked_mul(per_item)?;
        if dimensions == 0 || per_item == 0 || body.len() != count.checked_mul(stride)? {
            return None;
        }
        let mut scales = Vec::with_capacity(count);
        let mut values = Vec::with_capacity(count * dimensions);
        for v in body.chunks_exact(stride) {
            scales.push(f32::from_le_bytes([v[0], v[1], v[2], v[3]]));
            values.extend(v[4..].iter().map(|&b| i8::from_le_bytes([b])));
        }
        Some(Vectors {
            dimensions,
            per_item,
            scales,
            values,
        })
    }

    /// The `limit` items nearest `query` (a unit vector): each item's best cosine over its
    /// vectors, best first, ties by item number.
    pub fn nearest(&self, query: &[f32], limit: usize) -> Vec<(u32, f32)> {
        if query.len() != self.dimensions || limit == 0 {
            return Vec::new();
        }
        let per = self.per_item * self.dimensions;
        let mut scored: Vec<(u32, f32)> = self
            .values
            .par_chunks(per)
            .zip(self.scales.par_chunks(self.per_item))
            .enumerate()
            .map(|(item, (values, scales))| {
                let best = values
                    .chunks_exact(self.dimensions)
                    .zip(scales)
                    .map(|(v, scale)| {
                        let dot: f32 = v.iter().zip(query).map(|(&a, b)| f32::from(a) * b).sum();
                        dot * scale
                    })
                    .fold(f32::NEG_INFINITY, f32::max);
                (u32::try_from(item).unwrap_or(u32::MAX), best)
            })
            .collect();
        let by = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if scored.len() > limit {
            scored.select_nth_unstable_by(limit - 1, by);
            scored.truncate(limit);
        }
        scored.sort_unstable_by(by);
        scored
    }
}

/// The rows and columns given of a matrix.
fn block(a: &Array2<f32>, rows: Range<usize>, cols: Range<usize>) -> ArrayView2<'_, f32> {
    let mut view = a.view();
    view.slice_axis_inplace(Axis(0), Slice::from(rows));
    view.slice_axis_inplace(Axis(1), Slice::from(cols));
    view
}

fn block_mut(
    a: &mut Array2<f32>,
    rows: Range<usize>,
    cols: Range<usize>,
) -> ArrayViewMut2<'_, f32> {
    let mut view = a.view_mut();
    view.slice_axis_inplace(Axis(0), Slice::from(rows));
    view.slice_axis_inplace(Axis(1), Slice::from(cols));
    view
}

/// The mean of the rows, scaled to unit length.
fn mean_unit(rows: ArrayView2<f32>) -> Vec<f32> {
    let n = rows.nrows().max(1) as f32;
    let mut mean: Vec<f32> = rows.sum_axis(Axis(0)).iter().map(|v| v / n).collect();
    let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    for v in &mut mean {
        *v /= norm;
    }
    mean
}

fn softmax_rows(scores: &mut Array2<f32>) {
    for mut row in scores.rows_mut() {
        let max = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row /= sum;
    }
}

/// GELU as BERT defines it, with the error function (not the tanh approximation).
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x / std::f32::consts::SQRT_2))
}

/// BERT's basic tokenizer (uncased): control characters dropped, whitespace split, accents
/// stripped, lower case, each punctuation character and each CJK ideograph a word of its own.
fn basic_words(text: &str) -> Vec<String> {
    use unicode_normalization::UnicodeNormalization;
    let mut words = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || (c.is_control() && !c.is_whitespace()) {
            continue;
        }
        if c.is_whitespace() {
            flush(&mut word, &mut words);
            continue;
        }
        if is_punctuation(c) || is_cjk(c) {
            flush(&mut word, &mut words);
            words.push(c.to_string());
            continue;
        }
        for l in c.to_lowercase().nfd() {
            if !unicode_normalization::char::is_combining_mark(l) {
                word.push(l);
            }
        }
    }
    flush(&mut word, &mut words);
    words
}

/// BERT's punctuation: all ASCII symbols, and the Unicode punctuation blocks the archive's
/// text can hold (Latin-1 and General Punctuation).
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '¡' | '§' | '«' | '¶' | '·' | '»' | '¿')
        || ('\u{2010}'..='\u{2027}').contains(&c)
        || ('\u{2030}'..='\u{205e}').contains(&c)
        || ('\u{3001}'..='\u{3003}').contains(&c)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_words_split_punctuation_and_fold_case_and_accents() {
        assert_eq!(
            basic_words("Error -1018: JET_errReadVerifyFailure, Café\tOK"),
            [
                "error",
                "-",
                "1018",
                ":",
                "jet",
                "_",
                "errreadverifyfailure",
                ",",
                "cafe",
                "ok"
            ]
        );
        assert_eq!(basic_words("a\u{0}b 中文"), ["ab", "中", "文"]);
    }

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn vectors_keep_their_order_through_bytes_and_find_the_nearest() {
        // Three items of two vectors each, in 4 dimensions.
        let items = [
            [unit(&[1.0, 0.0, 0.0, 0.0]), unit(&[0.0, 1.0, 0.0, 0.0])],
            [unit(&[0.0, 0.0, 1.0, 0.0]), unit(&[0.0, 0.0, 0.9, 0.1])],
            [unit(&[0.7, 0.7, 0.0, 0.0]), unit(&[0.0, 0.0, 0.0, 1.0])],
        ];
        let flat: Vec<f32> = items.iter().flatten().flatten().copied().collect();
        let vectors = Vectors::new(4, 2, &flat);
        assert_eq!((vectors.items(), vectors.dimensions()), (3, 4));
        let read = Vectors::from_bytes(&vectors.to_bytes()).unwrap();
        assert_eq!(read, vectors);
        // Item 0's second vector is the query; item 2's first is near it (0.71).
        let near = read.nearest(&unit(&[0.0, 1.0, 0.0, 0.0]), 2);
        assert_eq!(near.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 2]);
        assert!((near[0].1 - 1.0).abs() < 0.01 && (near[1].1 - 0.707).abs() < 0.01);
        // A cleared item is near nothing.
        let mut cleared = read.clone();
        cleared.clear(0);
        assert_eq!(cleared.nearest(&unit(&[0.0, 1.0, 0.0, 0.0]), 1)[0].0, 2);
    }

    #[test]
    fn damaged_vector_files_are_refused() {
        let bytes = Vectors::new(4, 2, &[0.5; 16]).to_bytes();
        assert!(Vectors::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        assert!(Vectors::from_bytes(b"KBGVEC1\n").is_none());
        assert!(Vectors::from_bytes(&bytes[1..]).is_none());
        let mut huge = bytes.clone();
        huge[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Vectors::from_bytes(&huge).is_none());
    }

    #[test]
    fn a_missing_or_foreign_model_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = Model::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("config.json"), "{err}");
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"model_type": "gpt2", "hidden_act": "gelu_new", "hidden_size": 768,
                "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
                "max_position_embeddings": 1024, "vocab_size": 50257, "layer_norm_eps": 1e-5}"#,
        )
        .unwrap();
        let err = Model::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("only BERT"), "{err}");
    }

    /// With `KBGUARD_TEST_MODEL` (all-MiniLM-L6-v2), the pieces and a vector match what the
    /// reference (Hugging Face's tokenizer and a numpy forward pass,
    /// `bench/embed_reference.py`) gives.
    #[test]
    fn the_model_gives_the_reference_pieces_and_vector() {
        let Some(dir) = std::env::var_os("KBGUARD_TEST_MODEL") else {
            let must = std::env::var_os("CI").is_some()
                && std::env::var_os("KBGUARD_SKIP_MODEL").is_none();
            assert!(
                !must,
                "CI must have the model: KBGUARD_TEST_MODEL is not set"
            );
            eprintln!("skipping: KBGUARD_TEST_MODEL is not set");
            return;
        };
        let model = Model::load(std::path::Path::new(&dir)).unwrap();
        let text = "XADM: Private Store Could Not Be Updated; Reason: JET_errKeyDuplicate";
        assert_eq!(
            model.pieces(text),
            [
                101, 1060, 4215, 2213, 1024, 2797, 3573, 2071, 2025, 2022, 7172, 1025, 3114, 1024,
                6892, 1035, 9413, 25074, 25688, 6279, 19341, 2618, 102
            ]
        );
        let v = model.embed(text);
        let reference = [0.0183_f32, -0.0445, -0.0518, -0.0707];
        for (a, b) in v.iter().zip(reference) {
            assert!((a - b).abs() < 1e-3, "{:?}", &v[..4]);
        }
        let norm: f32 = v.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}
