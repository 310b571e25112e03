// keepalived.conf's syntax, whatever the keywords mean (keepalived's parser.c): a line's words,
// quotes and comments, and the tree of `keyword args... { ... }` blocks.
#include "control/config/keepalived_loader.h"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "control/config/loader.h"

namespace fastvs::ka {

// keepalived's line lexer: blanks separate words, '{' and '}' are words of their own even when
// glued to others, '#' and '!' start a comment anywhere outside quotes, and quoted parts ("..."
// or '...') join the word around them, blanks included. In quotes a backslash takes the next
// character as it is (keepalived also reads \n, \t, \xXX...: not here, so that no value, and
// no message quoting one, spans two lines).
std::string lex_line(std::string_view line, std::vector<Token>& out) {
  std::string word;
  bool in_word = false;
  auto flush = [&] {
    if (in_word) out.push_back({Token::Kind::Word, std::move(word)});
    word.clear();
    in_word = false;
  };
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (c == '#' || c == '!') break;
    if (is_blank(c)) {
      flush();
      ++i;
    } else if (c == '{' || c == '}') {
      flush();
      out.push_back({c == '{' ? Token::Kind::Open : Token::Kind::Close, std::string(1, c)});
      ++i;
    } else if (c == '"' || c == '\'') {
      in_word = true;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        const char d = line[i];
        if (d == c) {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < line.size()) {
          word += line[i + 1];
          i += 2;
          continue;
        }
        word += d;
        ++i;
      }
      if (!closed) return std::string("unterminated quoted string (missing ") + c + ")";
    } else {
      in_word = true;
      word += c;
      ++i;
    }
  }
  flush();
  return "";
}

// A MISC_CHECK program and its arguments. keepalived.conf(5): "unquoted spaces will separate the
// parameters. If it is required for a parameter to contain a space, it should be enclosed in
// single quotes": one value ("/bin/check arg1 'two words'") is split on blanks, single quotes
// grouping; several values (/bin/check arg1 'two words') are an argument each.
std::vector<std::string> script_argv(const std::vector<std::string>& values) {
  if (values.size() != 1) return values;
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  bool quoted = false;
  for (const char c : values[0]) {
    if (c == '\'') {
      quoted = !quoted;
      in_word = true;
    } else if (!quoted && is_blank(c)) {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// keepalived's decomment() for a line read for parameters: what follows the first '#' or '!'
// outside quotes goes (lex_line would drop it too), and the blanks around what is left.
std::string decomment(std::string_view line) {
  char quote = 0;
  size_t end = line.size();
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#' || c == '!') {
      end = i;
      break;
    }
  }
  std::string_view v = line.substr(0, end);
  while (!v.empty() && is_blank(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_blank(v.back())) v.remove_suffix(1);
  return std::string(v);
}

// keepalived's conditional configuration (parser.c): "@ID line" is read only by the keepalived
// whose --config-id is ID, "@^ID line" by every other. fastvsd reads the file as the config id
// "fastvsd": so a line only fastvsd must act on (lvs_sync_daemon, which stock keepalived would
// hand to a kernel IPVS) is written "@fastvsd ...". `word` is the line's first, '@' and all.
struct Condition {
  std::string_view id;  // empty: "@" or "@^" names none
  bool ours = false;
};
Condition condition_of(std::string_view word) {
  const bool negated = word.size() > 1 && word[1] == '^';
  Condition c;
  c.id = word.substr(negated ? 2 : 1);
  c.ours = (c.id == kKeepalivedConfigId) != negated;
  return c;
}

}  // namespace

// keepalived's parameters (parser.c: check_definition, find_definition, replace_param):
// "$NAME=value" defines NAME (blanks before '=' and after it skipped), and "$NAME" (followed by
// a blank, ',', ')' or the line's end) or "${NAME}" in a later line is replaced by its value,
// again until no defined name is left (bounded: a definition that names itself would loop).
// The standard ones: $_HASH '#', $_BANG '!', $_PWD the configuration's directory. Returns
// false with the error set; `line` is what is left to read (empty for a definition).
bool Loader::parameters(unsigned line_no, std::string& line) {
  if (line.size() > 1 && line[0] == '$' &&
      (std::isalpha(static_cast<unsigned char>(line[1])) || line[1] == '_')) {
    size_t p = 1;
    while (p < line.size() && name_char(line[p])) ++p;
    size_t eq = p;
    while (eq < line.size() && is_blank(line[eq])) ++eq;
    if (eq < line.size() && line[eq] == '=') {
      std::string value = line.substr(eq + 1);
      while (!value.empty() && is_blank(value.front())) value.erase(0, 1);
      if (!value.empty() && value.back() == '\\') {
        return fail(line_no, "parameter " + line.substr(0, p) +
                                 ": a value on several lines (ending in \\) is not supported");
      }
      params_[line.substr(1, p - 1)] = std::move(value);
      line.clear();
      return true;
    }
  }
  for (int pass = 0; line.find('$') != std::string::npos; ++pass) {
    if (pass == 16) {
      return fail(line_no,
                  "parameter substitution does not end (a parameter that names "
                  "itself?): " +
                      excerpt(line));
    }
    bool replaced = false;
    std::string out;
    for (size_t i = 0; i < line.size();) {
      if (line[i] != '$' || i + 1 >= line.size()) {
        out += line[i++];
        continue;
      }
      const bool braces = line[i + 1] == '{';
      const size_t start = i + (braces ? 2 : 1);
      size_t end = start;
      while (end < line.size() && name_char(line[end])) ++end;
      const std::string name = line.substr(start, end - start);
      const bool ends_well = braces ? end < line.size() && line[end] == '}'
                                    : end == line.size() || line[end] == ' ' || line[end] == '\t' ||
                                          line[end] == ',' || line[end] == ')';
      std::optional<std::string> value;
      if (!name.empty() && ends_well) {
        if (const auto it = params_.find(name); it != params_.end()) {
          value = it->second;
        } else if (name == "_HASH") {
          value = "#";
        } else if (name == "_BANG") {
          value = "!";
        } else if (name == "_PWD") {
          const size_t slash = cfg_.name.rfind('/');
          value =
              slash == std::string::npos ? "." : cfg_.name.substr(0, std::max<size_t>(slash, 1));
        } else if (name == "_RANDOM" || name == "_INSTANCE") {
          return fail(line_no, "$" + name + " is not supported by fastvsd");
        }
      }
      if (!value) {
        out += line[i++];
        continue;
      }
      out += *value;
      replaced = true;
      i = end + (braces ? 1 : 0);
    }
    if (!replaced) break;
    line = decomment(out);
  }
  return true;
}

bool Loader::build_tree(std::string_view text, Node& root) {
  std::vector<Node*> path{&root};
  cfg_.files = {cfg_.name};
  if (!build_lines(text, 0, path, 0)) return false;
  if (path.size() > 1) {
    const Node& open = *path.back();
    return fail(open.line, "the '{' of " + quoted(open.key) + " is never closed");
  }
  return true;
}

// keepalived's `include FILE` (parser.c check_include, open_glob_file): FILE is a glob(7)
// pattern, relative to the directory of the file that includes it (keepalived changes into it);
// every match is read there, in glob's order, as if its lines were written in its place (inside
// a block too). A pattern that matches nothing, or a file that cannot be read, refuses the file.
bool Loader::include(unsigned line_id, const std::string& pattern, uint32_t from,
                     std::vector<Node*>& path, unsigned depth) {
  if (depth >= 8)
    return fail(line_id, "include nested deeper than 8 files (a file that includes itself?)");
  std::string full = pattern;
  if (!full.empty() && full[0] != '/') {
    const std::string& parent = cfg_.files[from];
    const size_t slash = parent.rfind('/');
    if (slash != std::string::npos) full = parent.substr(0, slash + 1) + full;
  }
  glob_t g{};
  const int rc = glob(full.c_str(), 0, nullptr, &g);
  std::vector<std::string> matches;
  for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  if (rc == GLOB_NOMATCH || (rc == 0 && matches.empty()))
    return fail(line_id, "include " + excerpt(pattern) + ": no file matches " + excerpt(full));
  if (rc != 0)
    return fail(line_id, "include " + excerpt(pattern) + ": cannot read " + excerpt(full));
  for (const std::string& file : matches) {
    Result<std::string> text = read_text_file(file);
    if (!text) return fail(line_id, "include " + excerpt(pattern) + ": " + text.error());
    cfg_.files.push_back(file);
    if (!build_lines(*text, static_cast<uint32_t>(cfg_.files.size() - 1), path, depth + 1))
      return false;
  }
  return true;
}

bool Loader::build_lines(std::string_view text, uint32_t file, std::vector<Node*>& path,
                         unsigned depth) {
  unsigned file_line = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    // Lines are numbered across the files read (KaConfig::where names the file and its line).
    cfg_.lines.emplace_back(file, ++file_line);
    const auto line_no = static_cast<unsigned>(cfg_.lines.size());
    // Parameters first, as keepalived's read_line handles them before the line is split. A
    // conditional line's "@ID" is read by the token check below; one that defines a parameter
    // ("@fastvsd $X=1") is checked here so that only ours define.
    std::string expanded;
    if (line.find('$') != std::string_view::npos) {
      expanded = decomment(line);
      if (!expanded.empty() && expanded[0] == '@') {
        const size_t blank = expanded.find_first_of(" \t");
        const Condition cond = condition_of(std::string_view(expanded).substr(0, blank));
        if (!cond.id.empty() && blank != std::string::npos) {
          if (!cond.ours) continue;
          expanded = decomment(std::string_view(expanded).substr(blank));
        }
      }
      if (!parameters(line_no, expanded)) return false;
      line = expanded;
    }
    std::vector<Token> toks;
    std::string err = lex_line(line, toks);
    if (!err.empty()) return fail(line_no, err);
    if (!toks.empty() && toks[0].kind == Token::Kind::Word && toks[0].text[0] == '@') {
      const std::string& w = toks[0].text;
      const Condition cond = condition_of(w);
      if (cond.id.empty())
        return fail(line_no, "conditional configuration: '" + w + "' names no id");
      if (!cond.ours || toks.size() < 2) continue;
      toks.erase(toks.begin());
    }
    if (!toks.empty() && toks[0].kind == Token::Kind::Word && !toks[0].text.empty()) {
      const std::string& w = toks[0].text;
      if (w.rfind("~SEQ", 0) == 0 || w.rfind("~LST", 0) == 0) {
        return fail(line_no, "sequence and list blocks (~SEQ, ~LST) are not supported");
      }
      if (w == "include") {
        if (toks.size() != 2 || toks[1].kind != Token::Kind::Word)
          return fail(line_no, "include takes one file name or glob pattern");
        if (!include(line_no, toks[1].text, file, path, depth)) return false;
        continue;
      }
    }
    bool statement_open = false;  // a statement started on this line takes the next words
    for (Token& t : toks) {
      Node& top = *path.back();
      switch (t.kind) {
        case Token::Kind::Word:
          if (statement_open) {
            top.children.back().args.push_back(std::move(t.text));
          } else {
            Node n;
            n.key = std::move(t.text);
            n.line = line_no;
            top.children.push_back(std::move(n));
            statement_open = true;
          }
          break;
        case Token::Kind::Open: {
          // '{' opens the block of the statement before it, on this line or the one before.
          if (top.children.empty() || top.children.back().block) {
            return fail(line_no, "'{' without a keyword before it");
          }
          Node& owner = top.children.back();
          owner.block = true;
          path.push_back(&owner);
          statement_open = false;
          break;
        }
        case Token::Kind::Close:
          if (path.size() == 1) return fail(line_no, "unexpected '}' (no block is open)");
          path.pop_back();
          statement_open = false;
          break;
      }
    }
  }
  return true;
}

}  // namespace fastvs::ka
