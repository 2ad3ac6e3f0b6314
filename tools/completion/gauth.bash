# bash completion for gauth (libgauth's command-line tool)
#
# Installed as share/bash-completion/completions/gauth. It knows nothing of
# its own: the subcommands are read from `gauth help` (the lines under
# "commands:") and each subcommand's options, with their placeholders, from
# `gauth SUBCOMMAND --help`, once per shell, and so are the words a
# subcommand's usage lines name first ("gauth metadata attribute NAME"). A new
# subcommand or option needs no edit here. Values: files for FILE / PATH placeholders, the choices of
# `--opt=a|b`, and for EMAIL the client_email of the --credentials file (or
# of GOOGLE_APPLICATION_CREDENTIALS).

# _gauth_help PROG [SUBCOMMAND]: the help text, cached per shell.
_gauth_help() {
  local key="${2:-}"
  key=${key//[^a-z0-9]/_}
  local var="_gauth_help_cache_${key:-top}"
  if [[ -z ${!var+set} ]]; then
    local text
    if [[ -n ${2:-} ]]; then
      text=$("$1" "$2" --help 2> /dev/null)
    else
      text=$("$1" help 2> /dev/null)
    fi
    printf -v "$var" '%s' "$text"
  fi
  printf '%s\n' "${!var}"
}

# The subcommands: the first word of each line under "commands:".
_gauth_subcommands() {
  _gauth_help "$1" | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\).*/\1/p'
}

# The options of a subcommand, one per line, as "--name" or
# "--name=PLACEHOLDER" (both for "--name[=PLACEHOLDER]"), the first spelling
# with a placeholder of each.
_gauth_options() {
  _gauth_help "$1" "$2" |
    grep -oE -- '--[a-z][a-z0-9-]*(\[?=[^ ]*)?' |
    awk '{
      optional = sub(/\[=/, "=")
      sub(/[,.]+$/, "")
      # Drop the brackets that close outside the placeholder: [--a=B] -> --a=B
      while (gsub(/\]/, "]") > gsub(/\[/, "[") && sub(/\]$/, "")) {}
      name = $0; sub(/=.*/, "", name)
      if (!(name in spelling)) order[n++] = name
      if (optional) bare[name] = 1
      if (!(name in spelling) || (spelling[name] !~ /=/ && $0 ~ /=/)) spelling[name] = $0
    }
    END {
      for (i = 0; i < n; i++) {
        if (bare[order[i]] || spelling[order[i]] !~ /=/) print order[i]
        if (spelling[order[i]] ~ /=/) print spelling[order[i]]
      }
    }'
}

# The client_email of the credentials file named on the line, else of
# GOOGLE_APPLICATION_CREDENTIALS.
_gauth_emails() {
  local file="" w
  for w in "${_gauth_line[@]}"; do
    case $w in
      --credentials=*) file=${w#--credentials=} ;;
    esac
  done
  file=${file:-${GOOGLE_APPLICATION_CREDENTIALS:-}}
  file=${file/#\~/$HOME}
  [[ -r $file && -f $file ]] || return 0
  sed -n 's/.*"client_email"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$file" | head -n 5
}

# _gauth_values PLACEHOLDER CUR: the candidates for an option's value.
_gauth_values() {
  local ph=$1 cur=$2
  case $ph in
    *FILE* | *PATH* | F)
      compopt -o filenames 2> /dev/null
      compgen -f -- "$cur"
      ;;
    *EMAIL*)
      local prefix="" rest=$cur
      # [DELEGATE,...]EMAIL: complete the part after the last comma.
      if [[ $cur == *,* ]]; then prefix=${cur%,*},; rest=${cur##*,}; fi
      compgen -P "$prefix" -W "$(_gauth_emails)" -- "$rest"
      ;;
    *'|'*)
      local choices=${ph//|/ }
      [[ $choices =~ [A-Z] ]] && return 0 # a placeholder such as HOST|URL
      compgen -W "$choices" -- "$cur"
      ;;
  esac
}

_gauth() {
  local prog=${1:-gauth}
  COMPREPLY=()
  # The words as the user sees them, '=' kept inside: bash splits COMP_WORDS
  # at every COMP_WORDBREAKS character, so read the line itself.
  local line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}
  local -a _gauth_line
  read -r -a _gauth_line <<< "$line"
  local cur=""
  [[ $line == *[[:space:]] ]] || { cur=${_gauth_line[-1]}; unset '_gauth_line[-1]'; }

  # The subcommand: the first word after the program that is not an option.
  local sub="" w
  for w in "${_gauth_line[@]:1}"; do
    [[ $w == -* ]] && continue
    sub=$w
    break
  done
  if [[ -z $sub ]]; then
    if [[ $cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "--help --version" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W "$(_gauth_subcommands "$prog")" -- "$cur")
    fi
    return 0
  fi

  local opts
  opts=$(_gauth_options "$prog" "$sub")
  local prev=""
  ((${#_gauth_line[@]} > 1)) && prev=${_gauth_line[-1]}

  # --name=VALUE
  if [[ $cur == --*=* ]]; then
    local name=${cur%%=*} val=${cur#*=} ph
    ph=$(printf '%s\n' "$opts" | sed -n "s/^${name}=//p" | head -n 1)
    [[ -n $ph ]] || return 0
    local -a vals
    mapfile -t vals < <(_gauth_values "$ph" "$val")
    # With '=' in COMP_WORDBREAKS (bash's default) bash replaces only what
    # follows the '='; otherwise the whole word.
    local keep=""
    [[ $COMP_WORDBREAKS == *=* ]] || keep="$name="
    local v
    for v in "${vals[@]}"; do COMPREPLY+=("$keep$v"); done
    return 0
  fi
  # --name VALUE
  if [[ $prev == --* && $prev != *=* ]]; then
    local ph
    ph=$(printf '%s\n' "$opts" | sed -n "s/^${prev}=//p" | head -n 1)
    if [[ -n $ph ]]; then
      mapfile -t COMPREPLY < <(_gauth_values "$ph" "$cur")
      return 0
    fi
  fi
  if [[ $cur == -* ]]; then
    local -a names
    mapfile -t names < <(printf '%s\n' "$opts" | sed 's/=.*/=/')
    mapfile -t COMPREPLY < <(compgen -W "${names[*]} --help" -- "$cur")
    # An option that takes a value is completed up to its '=', no space.
    [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2> /dev/null
    return 0
  fi
  # The first argument of a subcommand whose usage names literal words
  # ("usage: gauth metadata attribute NAME"): those words.
  local w2 args=0
  for w2 in "${_gauth_line[@]:2}"; do [[ $w2 == -* ]] || args=$((args + 1)); done
  if ((args == 0)); then
    local words
    words=$(_gauth_help "$prog" "$sub" |
      sed -n "s/^\(usage:\)\{0,1\} *gauth $sub \([a-z][a-z0-9-]*\)\( .*\)\{0,1\}$/\2/p")
    if [[ -n $words ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
      return 0
    fi
  fi
  compopt -o filenames 2> /dev/null
  mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  return 0
}
complete -F _gauth gauth
