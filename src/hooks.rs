//! Shell integration: the hook `kbguard init SHELL` prints, and the marked block `kbguard
//! shell install` adds to an rc file.
//!
//! Owns the hook scripts and the rc-file edit (pure text; the binary reads and writes the
//! files). Each hook checks the whole line when Enter is pressed, before the shell runs it, with
//! `kbguard check --line LINE --shell SHELL`: exit 0 runs the line; 1 (blocked) shows the
//! findings and keeps the line in the editor; 3 (undecided) shows them and asks; anything else
//! (2, a timeout after `KBGUARD_HOOK_TIMEOUT` seconds, a missing kbguard) warns in one line and
//! runs the line, so a broken kbguard never locks anyone out. `KBGUARD_DISABLE=1` turns a hook
//! off; lines that run kbguard itself are not checked; hooks act in interactive shells only.

/// A shell kbguard has a hook for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookShell {
    /// bash 4 or later (readline's `bind -x`).
    Bash,
    /// zsh (an `accept-line` widget).
    Zsh,
    /// fish 3 or later (an Enter binding).
    Fish,
    /// PowerShell with PSReadLine (an Enter key handler).
    PowerShell,
}

impl HookShell {
    /// Every shell, by name.
    pub const ALL: [HookShell; 4] = [
        HookShell::Bash,
        HookShell::Zsh,
        HookShell::Fish,
        HookShell::PowerShell,
    ];

    /// Its name (`bash`).
    pub fn name(self) -> &'static str {
        match self {
            HookShell::Bash => "bash",
            HookShell::Zsh => "zsh",
            HookShell::Fish => "fish",
            HookShell::PowerShell => "powershell",
        }
    }

    /// The shell named `name` (a path's file name counts: `/bin/zsh`, `pwsh.exe`).
    pub fn from_name(name: &str) -> Option<HookShell> {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let base = base.strip_suffix(".exe").unwrap_or(base);
        match base {
            "bash" => Some(HookShell::Bash),
            "zsh" => Some(HookShell::Zsh),
            "fish" => Some(HookShell::Fish),
            "powershell" | "pwsh" => Some(HookShell::PowerShell),
            _ => None,
        }
    }

    /// The rc file the hook goes in, relative to the home directory (PowerShell's is its
    /// `$PROFILE` on this platform).
    pub fn rc_file(self) -> &'static str {
        match self {
            HookShell::Bash => ".bashrc",
            HookShell::Zsh => ".zshrc",
            HookShell::Fish => ".config/fish/config.fish",
            HookShell::PowerShell if cfg!(windows) => {
                "Documents/PowerShell/Microsoft.PowerShell_profile.ps1"
            }
            HookShell::PowerShell => ".config/powershell/Microsoft.PowerShell_profile.ps1",
        }
    }

    /// The line of the rc file that loads the hook from `kbguard` (a path).
    pub fn load_line(self, kbguard: &str) -> String {
        let q = quote(self, kbguard);
        match self {
            HookShell::Bash | HookShell::Zsh => format!("eval \"$({q} init {})\"", self.name()),
            HookShell::Fish => format!("{q} init fish | source"),
            HookShell::PowerShell => {
                format!("& {q} init powershell | Out-String | Invoke-Expression")
            }
        }
    }
}

/// The hook for `shell`, calling the kbguard at `kbguard` (unless `KBGUARD_BIN` names another).
pub fn init_script(shell: HookShell, kbguard: &str) -> String {
    let template = match shell {
        HookShell::Bash => BASH,
        HookShell::Zsh => ZSH,
        HookShell::Fish => FISH,
        HookShell::PowerShell => POWERSHELL,
    };
    template.replace("@KBGUARD@", &quote(shell, kbguard))
}

/// The first and last lines of the block `shell install` adds.
pub const BLOCK_START: &str = "# >>> kbguard shell hook >>>";
/// See [`BLOCK_START`].
pub const BLOCK_END: &str = "# <<< kbguard shell hook <<<";

/// `rc` with the hook's block added, or replaced when one is there already (idempotent).
pub fn install(rc: &str, shell: HookShell, kbguard: &str) -> String {
    let block = format!(
        "{BLOCK_START}\n# Added by `kbguard shell install`; `kbguard shell uninstall` removes it.\n{}\n{BLOCK_END}\n",
        shell.load_line(kbguard)
    );
    let without = uninstall(rc);
    let mut out = without.trim_end_matches('\n').to_string();
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    out.push_str(&block);
    out
}

/// `rc` without the hook's block; the rest as it was.
pub fn uninstall(rc: &str) -> String {
    let mut out = String::with_capacity(rc.len());
    let mut inside = false;
    for line in rc.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == BLOCK_START {
            inside = true;
        } else if inside && bare == BLOCK_END {
            inside = false;
        } else if !inside {
            out.push_str(line);
        }
    }
    if inside {
        // An unclosed block: keep the file as it was rather than lose its end.
        return rc.to_string();
    }
    out
}

/// Whether `rc` holds the hook's block.
pub fn installed(rc: &str) -> bool {
    rc.lines().any(|l| l.trim_end() == BLOCK_START)
}

/// `text` as one word of `shell`'s syntax.
fn quote(shell: HookShell, text: &str) -> String {
    match shell {
        HookShell::Bash | HookShell::Zsh => format!("'{}'", text.replace('\'', r"'\''")),
        HookShell::Fish => format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'")),
        HookShell::PowerShell => format!("'{}'", text.replace('\'', "''")),
    }
}

const BASH: &str = r#"# kbguard shell hook for bash: checks each line before it runs (KBGUARD_DISABLE=1 turns it off).
if [[ $- == *i* && -z ${__kbguard_hooked:-} ]]; then
__kbguard_hooked=1
__kbguard_check() {
    local line=$READLINE_LINE out code ans
    # Run the line unless the check says otherwise: Enter is bound to this, then to \C-x\C-j.
    bind '"\C-x\C-j": accept-line'
    [[ -n ${KBGUARD_DISABLE:-} || -z ${line//[[:space:]]/} ]] && return
    local first=${line#"${line%%[![:space:]]*}"}
    first=${first%%[[:space:]]*}
    [[ ${first##*/} == kbguard ]] && return
    local bin=${KBGUARD_BIN:-@KBGUARD@}
    if command -v timeout >/dev/null 2>&1; then
        out=$(timeout "${KBGUARD_HOOK_TIMEOUT:-5}" "$bin" check --no-advisories --line "$line" --shell bash 2>&1)
    else
        out=$("$bin" check --no-advisories --line "$line" --shell bash 2>&1)
    fi
    code=$?
    case $code in
    0) ;;
    1)
        printf '%s\nkbguard: blocked: the line was not run (change it, or KBGUARD_DISABLE=1)\n' "$out" >&2
        bind '"\C-x\C-j": redraw-current-line'
        ;;
    3)
        printf '%s\n' "$out" >&2
        read -r -p "kbguard: undecided: run it anyway? [y/N] " ans </dev/tty
        [[ $ans == [yY]* ]] || bind '"\C-x\C-j": redraw-current-line'
        ;;
    *)
        printf 'kbguard: WARNING: the check failed (exit %s); running the line unchecked\n' "$code" >&2
        ;;
    esac
}
bind -x '"\C-x\C-k": __kbguard_check'
bind '"\C-x\C-j": accept-line'
bind '"\C-m": "\C-x\C-k\C-x\C-j"'
bind '"\C-j": "\C-x\C-k\C-x\C-j"'
fi
"#;

const ZSH: &str = r#"# kbguard shell hook for zsh: checks each line before it runs (KBGUARD_DISABLE=1 turns it off).
if [[ -o interactive ]] && (( ! ${+__kbguard_hooked} )); then
typeset -g __kbguard_hooked=1
__kbguard_accept_line() {
    local line=$BUFFER out code
    local -a words
    words=(${(z)line})
    if [[ -n ${KBGUARD_DISABLE:-} || -z ${line//[[:space:]]/} || ${words[1]:t} == kbguard ]]; then
        zle .accept-line
        return
    fi
    local bin=${KBGUARD_BIN:-@KBGUARD@}
    if (( $+commands[timeout] )); then
        out=$(timeout "${KBGUARD_HOOK_TIMEOUT:-5}" "$bin" check --no-advisories --line "$line" --shell zsh 2>&1)
    else
        out=$("$bin" check --no-advisories --line "$line" --shell zsh 2>&1)
    fi
    code=$?
    case $code in
    0) zle .accept-line ;;
    1)
        zle -I
        print -r -- "$out" >&2
        print -r -- "kbguard: blocked: the line was not run (change it, or KBGUARD_DISABLE=1)" >&2
        ;;
    3)
        zle -I
        print -r -- "$out" >&2
        if read -q "?kbguard: undecided: run it anyway? [y/N] " </dev/tty; then
            print >&2
            zle .accept-line
        else
            print >&2
        fi
        ;;
    *)
        print -r -- "kbguard: WARNING: the check failed (exit $code); running the line unchecked" >&2
        zle .accept-line
        ;;
    esac
}
zle -N accept-line __kbguard_accept_line
fi
"#;

const FISH: &str = r#"# kbguard shell hook for fish: checks each line before it runs (KBGUARD_DISABLE=1 turns it off).
if status is-interactive; and not set -q __kbguard_hooked
    set -g __kbguard_hooked 1
    function __kbguard_enter
        set -l line (commandline | string collect)
        set -l first (string split -n ' ' -- (string trim -- $line))[1]
        if test -n "$KBGUARD_DISABLE"; or test -z (string trim -- "$line"); or test (basename -- "$first" 2>/dev/null) = kbguard
            commandline -f execute
            return
        end
        set -l bin @KBGUARD@
        set -q KBGUARD_BIN; and set bin $KBGUARD_BIN
        set -l limit 5
        set -q KBGUARD_HOOK_TIMEOUT; and set limit $KBGUARD_HOOK_TIMEOUT
        set -l out
        if command -q timeout
            set out (timeout $limit $bin check --no-advisories --line "$line" --shell fish 2>&1)
        else
            set out ($bin check --no-advisories --line "$line" --shell fish 2>&1)
        end
        set -l code $status
        switch $code
            case 0
                commandline -f execute
            case 1
                echo >&2
                printf '%s\n' $out >&2
                echo "kbguard: blocked: the line was not run (change it, or KBGUARD_DISABLE=1)" >&2
                commandline -f repaint
            case 3
                echo >&2
                printf '%s\n' $out >&2
                read -l -P 'kbguard: undecided: run it anyway? [y/N] ' ans
                if string match -qi 'y*' -- $ans
                    commandline -f execute
                else
                    commandline -f repaint
                end
            case '*'
                echo "kbguard: WARNING: the check failed (exit $code); running the line unchecked" >&2
                commandline -f execute
        end
    end
    bind \r __kbguard_enter
    bind \n __kbguard_enter
end
"#;

const POWERSHELL: &str = r#"# kbguard shell hook for PowerShell (PSReadLine): checks each line before it runs.
# $env:KBGUARD_DISABLE = 1 turns it off.
if (-not $global:__kbguard_hooked -and (Get-Module PSReadLine)) {
    $global:__kbguard_hooked = $true
    Set-PSReadLineKeyHandler -Key Enter -BriefDescription KbguardAcceptLine -ScriptBlock {
        $line = $null
        $cursor = $null
        [Microsoft.PowerShell.PSConsoleReadLine]::GetBufferState([ref]$line, [ref]$cursor)
        if ($env:KBGUARD_DISABLE -or -not $line.Trim() -or $line -match '^\s*(\S*[\\/])?kbguard(\.exe)?(\s|$)') {
            [Microsoft.PowerShell.PSConsoleReadLine]::AcceptLine()
            return
        }
        $bin = if ($env:KBGUARD_BIN) { $env:KBGUARD_BIN } else { @KBGUARD@ }
        $limit = if ($env:KBGUARD_HOOK_TIMEOUT) { [int]$env:KBGUARD_HOOK_TIMEOUT } else { 5 }
        $job = Start-Job -ScriptBlock { param($b, $l) $o = & $b check --no-advisories --line $l --shell powershell 2>&1 | Out-String; @($LASTEXITCODE, $o) } -ArgumentList $bin, $line
        if (Wait-Job $job -Timeout $limit) { $code, $out = Receive-Job $job } else { $code = 124; $out = '' }
        Remove-Job $job -Force
        switch ($code) {
            0 { [Microsoft.PowerShell.PSConsoleReadLine]::AcceptLine() }
            1 {
                Write-Host ''
                Write-Host $out
                Write-Host 'kbguard: blocked: the line was not run (change it, or $env:KBGUARD_DISABLE = 1)'
                [Microsoft.PowerShell.PSConsoleReadLine]::InvokePrompt()
            }
            3 {
                Write-Host ''
                Write-Host $out
                $ans = Read-Host 'kbguard: undecided: run it anyway? [y/N]'
                if ($ans -match '^[yY]') { [Microsoft.PowerShell.PSConsoleReadLine]::AcceptLine() }
                else { [Microsoft.PowerShell.PSConsoleReadLine]::InvokePrompt() }
            }
            default {
                Write-Host "kbguard: WARNING: the check failed (exit $code); running the line unchecked"
                [Microsoft.PowerShell.PSConsoleReadLine]::AcceptLine()
            }
        }
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rc_block_is_added_once_and_removed_whole() {
        let rc = "export EDITOR=vi\n";
        let once = install(rc, HookShell::Bash, "/opt/kb guard/kbguard");
        assert!(once.starts_with("export EDITOR=vi\n\n# >>> kbguard shell hook >>>\n"));
        assert!(
            once.contains(r#"eval "$('/opt/kb guard/kbguard' init bash)""#),
            "{once}"
        );
        assert_eq!(
            install(&once, HookShell::Bash, "/opt/kb guard/kbguard"),
            once
        );
        assert!(installed(&once));
        assert_eq!(uninstall(&once).trim_end(), rc.trim_end());
        assert!(!installed(&uninstall(&once)));
        // An unclosed block is left alone rather than cut off the rest of the file.
        let broken = format!("{BLOCK_START}\nexport X=1\n");
        assert_eq!(uninstall(&broken), broken);
    }

    #[test]
    fn paths_are_quoted_for_each_shell() {
        let path = "/it's/kbguard";
        assert!(init_script(HookShell::Bash, path).contains(r"${KBGUARD_BIN:-'/it'\''s/kbguard'}"));
        assert!(init_script(HookShell::Fish, path).contains(r"set -l bin '/it\'s/kbguard'"));
        assert!(init_script(HookShell::PowerShell, path).contains("{ '/it''s/kbguard' }"));
        assert!(!init_script(HookShell::Zsh, path).contains("@KBGUARD@"));
        assert_eq!(
            HookShell::from_name("/usr/bin/pwsh.exe"),
            Some(HookShell::PowerShell)
        );
    }
}
