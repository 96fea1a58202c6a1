//! Splitting a whole command line into the simple commands it runs, with each shell's quoting.
//!
//! Only what decides *which programs run with which arguments* is modelled: words and quotes,
//! the separators between commands (`;` `&&` `||` `|` `&`, newlines), redirections (dropped
//! with their targets), comments, grouping, and command substitutions (whose commands run too).
//! Variables are not expanded: `%X%` and `$X` stay as written.

use super::{LineError, Shell};

/// One word of a command, quotes and escapes removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The word's text.
    pub text: String,
    /// Whether any part of it was quoted (`start` takes a quoted first word as a title).
    pub quoted: bool,
}

impl Word {
    /// An unquoted word.
    pub fn plain(text: &str) -> Word {
        Word {
            text: text.to_string(),
            quoted: false,
        }
    }
}

/// A simple command: its words and the text it was written as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Simple {
    /// Its words.
    pub words: Vec<Word>,
    /// The text of the command as written on the line, trimmed.
    pub raw: String,
}

/// Nested command substitutions deeper than this are refused rather than followed.
const MAX_DEPTH: usize = 16;

/// Splits `line` into the simple commands it runs, in order; a substitution's commands come
/// before the command that contains them.
pub fn split(line: &str, shell: Shell) -> Result<Vec<Simple>, LineError> {
    let mut out = Vec::new();
    Scanner {
        src: line,
        chars: line.char_indices().collect(),
        i: 0,
        shell,
        base: 0,
        depth: 0,
    }
    .run(&mut out)?;
    Ok(out)
}

struct Scanner<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    shell: Shell,
    /// Byte offset of `src` in the whole line, for error positions.
    base: usize,
    depth: usize,
}

/// How a quoted run makes a character literal.
#[derive(Clone, Copy)]
enum Escape {
    /// This character escapes the next.
    By(char),
    /// The quote written twice stands for itself.
    Doubled,
    /// Nothing: the run ends at the next quote.
    None,
}

/// The command being assembled.
#[derive(Default)]
struct Pending {
    words: Vec<Word>,
    word: Option<Word>,
    /// The next word is a redirection's target, not an argument.
    redirect_target: bool,
    start: Option<usize>,
}

impl Pending {
    fn push_char(&mut self, c: char, quoted: bool) {
        let word = self.word.get_or_insert_with(|| Word {
            text: String::new(),
            quoted: false,
        });
        word.text.push(c);
        word.quoted |= quoted;
    }

    /// Starts a word that may stay empty (`""` is a word).
    fn touch(&mut self, quoted: bool) {
        let word = self.word.get_or_insert_with(|| Word {
            text: String::new(),
            quoted: false,
        });
        word.quoted |= quoted;
    }

    fn end_word(&mut self) {
        if let Some(word) = self.word.take() {
            if std::mem::take(&mut self.redirect_target) {
                return;
            }
            self.words.push(word);
        }
    }
}

impl Scanner<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).map(|(_, c)| *c)
    }

    fn offset(&self) -> usize {
        self.chars.get(self.i).map_or(self.src.len(), |(o, _)| *o)
    }

    fn error(&self, at: usize, message: &str) -> LineError {
        LineError {
            offset: self.base + at,
            message: message.to_string(),
        }
    }

    fn finish(&self, pending: &mut Pending, end: usize, out: &mut Vec<Simple>) {
        pending.end_word();
        pending.redirect_target = false;
        let words = std::mem::take(&mut pending.words);
        let start = pending.start.take().unwrap_or(end);
        if !words.is_empty() {
            out.push(Simple {
                words,
                raw: self.src.get(start..end).unwrap_or("").trim().to_string(),
            });
        }
    }

    fn run(&mut self, out: &mut Vec<Simple>) -> Result<(), LineError> {
        let mut p = Pending::default();
        while let Some(c) = self.peek(0) {
            let at = self.offset();
            if p.start.is_none() && !c.is_whitespace() {
                p.start = Some(at);
            }
            if self.shell == Shell::PowerShell
                && matches!(c, '&' | '.')
                && p.words.is_empty()
                && p.word.is_none()
                && self.peek(1).is_some_and(char::is_whitespace)
            {
                // The call and dot-source operators: the next word is the program.
                self.i += 1;
                continue;
            }
            if c == '\n' || self.is_separator(c, &p) {
                self.finish(&mut p, at, out);
                self.i += 1;
                continue;
            }
            if c.is_whitespace() {
                p.end_word();
                self.i += 1;
                continue;
            }
            if c == '#' && p.word.is_none() && self.shell != Shell::Cmd {
                // A comment runs to the end of the line.
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.i += 1;
                }
                continue;
            }
            if self.redirection(&mut p) {
                continue;
            }
            self.word_char(c, &mut p, out)?;
        }
        self.finish(&mut p, self.src.len(), out);
        Ok(())
    }

    /// Whether `c` ends a command here (the character is consumed by the caller; `&&`, `||`
    /// and `|&` end it just the same, their second character then ending an empty command).
    fn is_separator(&self, c: char, p: &Pending) -> bool {
        match self.shell {
            Shell::Cmd => matches!(c, '&' | '|' | '(' | ')'),
            Shell::PowerShell => {
                // `&` alone at a command's start is the call operator, not a separator.
                matches!(c, ';' | '|' | '(' | ')' | '{' | '}')
                    || (c == '&'
                        && (self.peek(1) == Some('&')
                            || p.words.len() + usize::from(p.word.is_some()) > 0))
            }
            Shell::Fish => matches!(c, ';' | '&' | '|'),
            Shell::Sh | Shell::Bash | Shell::Zsh => matches!(c, ';' | '&' | '|' | '(' | ')'),
        }
    }

    /// Consumes a redirection operator when one starts here: `>`, `>>`, `<`, `2>`, `2>&1`,
    /// `&>`, `>|`, `*>` (PowerShell). Its target word is then dropped.
    fn redirection(&mut self, p: &mut Pending) -> bool {
        let c = self.peek(0);
        let fd_only = p.word.as_ref().is_some_and(|w| {
            !w.quoted
                && !w.text.is_empty()
                && w.text.chars().all(|c| c.is_ascii_digit() || c == '*')
        });
        let starts = match c {
            Some('>' | '<') => p.word.is_none() || fd_only,
            Some('&') => {
                matches!(
                    self.shell,
                    Shell::Bash | Shell::Zsh | Shell::Sh | Shell::Fish
                ) && self.peek(1) == Some('>')
                    && p.word.is_none()
            }
            Some('*') => {
                self.shell == Shell::PowerShell && self.peek(1) == Some('>') && p.word.is_none()
            }
            _ => false,
        };
        if !starts {
            return false;
        }
        if fd_only {
            p.word = None;
        }
        let mut op = String::new();
        while let Some(c) = self
            .peek(0)
            .filter(|c| matches!(c, '>' | '<' | '&' | '|' | '*'))
        {
            op.push(c);
            self.i += 1;
        }
        // `2>&1`, `>&-`: the target is a descriptor, glued to the operator.
        if op.ends_with('&') && self.peek(0).is_some_and(|c| c.is_ascii_digit() || c == '-') {
            while self.peek(0).is_some_and(|c| c.is_ascii_digit() || c == '-') {
                self.i += 1;
            }
            return true;
        }
        if op.ends_with('&') && matches!(self.shell, Shell::Cmd | Shell::PowerShell) {
            return true;
        }
        p.end_word();
        p.redirect_target = true;
        true
    }

    fn word_char(
        &mut self,
        c: char,
        p: &mut Pending,
        out: &mut Vec<Simple>,
    ) -> Result<(), LineError> {
        let at = self.offset();
        match (self.shell, c) {
            (Shell::Cmd, '"') => self.quoted_run(p, '"', Escape::None, at),
            (Shell::Cmd, '^') => {
                self.i += 1;
                if let Some(next) = self.peek(0) {
                    p.push_char(next, true);
                    self.i += 1;
                }
                Ok(())
            }
            (Shell::PowerShell, '\'') => self.quoted_run(p, '\'', Escape::Doubled, at),
            (Shell::PowerShell, '"') => self.quoted_run(p, '"', Escape::By('`'), at),
            (Shell::PowerShell, '`')
            | (Shell::Sh | Shell::Bash | Shell::Zsh | Shell::Fish, '\\') => {
                self.i += 1;
                match self.peek(0) {
                    // A line continuation.
                    Some('\n') => self.i += 1,
                    Some(next) => {
                        p.push_char(next, true);
                        self.i += 1;
                    }
                    None => p.push_char(c, false),
                }
                Ok(())
            }
            (Shell::Sh | Shell::Bash | Shell::Zsh, '\'') => {
                self.quoted_run(p, '\'', Escape::None, at)
            }
            (Shell::Fish, '\'') => self.quoted_run(p, '\'', Escape::By('\\'), at),
            (Shell::Sh | Shell::Bash | Shell::Zsh | Shell::Fish, '"') => {
                self.quoted_run(p, '"', Escape::By('\\'), at)
            }
            (Shell::Sh | Shell::Bash | Shell::Zsh, '$') if self.peek(1) == Some('\'') => {
                self.i += 1;
                self.quoted_run(p, '\'', Escape::By('\\'), at)
            }
            (_, '$') if self.peek(1) == Some('(') && self.shell != Shell::Cmd => {
                self.i += 1;
                self.substitution(p, out, at)
            }
            (Shell::Fish, '(') => self.substitution(p, out, at),
            (Shell::Sh | Shell::Bash | Shell::Zsh, '`') => {
                let inner_start = self.offset() + 1;
                self.i += 1;
                while self.peek(0).is_some_and(|c| c != '`') {
                    self.i += 1;
                }
                if self.peek(0).is_none() {
                    return Err(self.error(at, "unclosed ` (command substitution) opened here"));
                }
                let inner_end = self.offset();
                self.i += 1;
                p.touch(false);
                self.nested(inner_start, inner_end, out)
            }
            _ => {
                p.push_char(c, false);
                self.i += 1;
                Ok(())
            }
        }
    }

    /// A run in `quote`s. `escape` makes the next character literal: a character (`\\` in
    /// POSIX double quotes, `` ` `` in PowerShell's), the quote itself doubled (`''` inside
    /// PowerShell's single quotes), or nothing (cmd, POSIX single quotes).
    fn quoted_run(
        &mut self,
        p: &mut Pending,
        quote: char,
        escape: Escape,
        at: usize,
    ) -> Result<(), LineError> {
        self.i += 1;
        p.touch(true);
        loop {
            let Some(c) = self.peek(0) else {
                return Err(self.error(at, &format!("unclosed {quote} quote opened here")));
            };
            let escaped = match escape {
                Escape::By(e) => c == e,
                Escape::Doubled => c == quote && self.peek(1) == Some(quote),
                Escape::None => false,
            };
            if escaped {
                self.i += 1;
                if let Some(next) = self.peek(0) {
                    p.push_char(next, true);
                    self.i += 1;
                }
            } else if c == quote {
                self.i += 1;
                return Ok(());
            } else {
                p.push_char(c, true);
                self.i += 1;
            }
        }
    }

    /// `$(...)` (or fish's `(...)`), at the opening parenthesis: its commands run too.
    fn substitution(
        &mut self,
        p: &mut Pending,
        out: &mut Vec<Simple>,
        at: usize,
    ) -> Result<(), LineError> {
        self.i += 1;
        let inner_start = self.offset();
        let mut depth = 1usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek(0) {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '(') => depth += 1,
                (None, ')') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        if self.peek(0).is_none() {
            return Err(self.error(at, "unclosed ( (command substitution) opened here"));
        }
        let inner_end = self.offset();
        self.i += 1;
        p.touch(false);
        self.nested(inner_start, inner_end, out)
    }

    fn nested(&self, start: usize, end: usize, out: &mut Vec<Simple>) -> Result<(), LineError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(start, "command substitutions nested too deeply"));
        }
        let inner = self.src.get(start..end).unwrap_or("");
        Scanner {
            src: inner,
            chars: inner.char_indices().collect(),
            i: 0,
            shell: self.shell,
            base: self.base + start,
            depth: self.depth + 1,
        }
        .run(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str, shell: Shell) -> Vec<Vec<String>> {
        split(line, shell)
            .unwrap()
            .into_iter()
            .map(|s| s.words.into_iter().map(|w| w.text).collect())
            .collect()
    }

    #[test]
    fn separators_and_redirections() {
        assert_eq!(
            words(
                "cd /d C:\\exchsrvr\\bin && isinteg -patch > out.txt 2>&1",
                Shell::Cmd
            ),
            [
                vec!["cd", "/d", "C:\\exchsrvr\\bin"],
                vec!["isinteg", "-patch"]
            ]
        );
        assert_eq!(
            words("isinteg -patch | more", Shell::Cmd),
            [vec!["isinteg", "-patch"], vec!["more"]]
        );
        assert_eq!(
            words("a; b || c & d 2>/dev/null <in", Shell::Bash),
            [vec!["a"], vec!["b"], vec!["c"], vec!["d"]]
        );
        assert_eq!(
            words("a &>log; b >| x", Shell::Bash),
            [vec!["a"], vec!["b"]]
        );
        assert_eq!(
            words("a *> x; b", Shell::PowerShell),
            [vec!["a"], vec!["b"]]
        );
    }

    #[test]
    fn quoting_per_shell() {
        assert_eq!(
            words(r#"echo 'a b' "c \" d" e\ f"#, Shell::Bash),
            [vec!["echo", "a b", "c \" d", "e f"]]
        );
        assert_eq!(
            words(r#"echo "a ^& b" c^&d"#, Shell::Cmd),
            [vec!["echo", "a ^& b", "c&d"]]
        );
        assert_eq!(
            words("echo 'it''s' \"x`\"y\"", Shell::PowerShell),
            [vec!["echo", "it's", "x\"y"]]
        );
        assert_eq!(words(r"echo 'a\'b'", Shell::Fish), [vec!["echo", "a'b"]]);
        assert_eq!(words("echo \"\" x", Shell::Bash), [vec!["echo", "", "x"]]);
    }

    #[test]
    fn substitutions_run_their_commands_first() {
        assert_eq!(
            words("echo $(isinteg -patch) `eseutil /p x`", Shell::Bash),
            [
                vec!["isinteg", "-patch"],
                vec!["eseutil", "/p", "x"],
                vec!["echo", "", ""]
            ]
        );
        assert_eq!(
            words("echo (isinteg -patch)", Shell::Fish),
            [vec!["isinteg", "-patch"], vec!["echo", ""]]
        );
    }

    #[test]
    fn comments_and_the_call_operator() {
        assert_eq!(words("a # b; c", Shell::Bash), [vec!["a"]]);
        assert_eq!(
            words("& 'C:\\bin\\isinteg.exe' -patch", Shell::PowerShell),
            [vec!["C:\\bin\\isinteg.exe", "-patch"]]
        );
    }

    #[test]
    fn unbalanced_quotes_are_errors_with_their_position() {
        for (line, shell, offset) in [
            ("isinteg \"-patch", Shell::Cmd, 8),
            ("a 'b", Shell::Bash, 2),
            ("a $(b", Shell::Bash, 2),
            ("x 'it''s", Shell::PowerShell, 2),
        ] {
            let err = split(line, shell).unwrap_err();
            assert_eq!(err.offset, offset, "{line}");
        }
    }
}
