# bash completion for sgxpy                                    -*- shell-script -*-
# Installed by `make install` as $(PREFIX)/share/bash-completion/completions/sgxpy.

_sgxpy()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion -n = || return
    else
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi

    local commands="build trace show manifest verify keygen sign run diff explain"
    if ((cword == 1)); then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi

    # After `--`, complete the command being wrapped.
    local i
    for ((i = 2; i < cword; i++)); do
        if [[ ${words[i]} == -- ]]; then
            if ((i + 1 == cword)); then
                COMPREPLY=($(compgen -c -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            return
        fi
    done

    local cmd=${words[1]} opts=""
    case $cmd in
        build)    opts="-o --output -t --trace -k --key --allow --trust --exclude --trust-sources --widen-package --allow-built-code --stat --exact -j --json -h --help --" ;;
        trace)    opts="-o --output -a --append --stat --exact -v --verbose -h --help --" ;;
        show)     opts="-f --files -j --json -h --help" ;;
        manifest) opts="-o --output --allow --trust --exclude --trust-sources --widen-package --allow-built-code --stats -j --jobs --from-log --json -h --help" ;;
        verify)   opts="-k --key -j --json -h --help" ;;
        keygen)   opts="-o --output -t --type -h --help" ;;
        sign)     opts="-k --key -h --help" ;;
        run)      opts="--audit --seal --log --key --no-landlock -v --verbose -h --help --" ;;
        diff)     opts="-s --stat -j --json -h --help" ;;
        explain)  opts="-j --json -h --help" ;;
        *)        return ;;
    esac

    case $prev in
        -t | --type)
            [[ $cmd == keygen ]] && { COMPREPLY=($(compgen -W "rsa3072 ed25519" -- "$cur")); return; } ;;
        -j | --jobs)
            [[ $cmd == manifest ]] && return ;;
        --widen-package)
            return ;;
    esac
    case $prev in
        -o | --output | -t | --trace | -k | --key | --log | --from-log | --allow | --trust | --exclude)
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        # Bundles are directories, traces, logs and keys files: offer both.
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
} &&
    complete -F _sgxpy sgxpy
