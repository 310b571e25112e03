// keepalived.conf's syntax, whatever the keywords mean (keepalived's parser.c): a line's words,
// quotes and comments, and the tree of `keyword args... { ... }` blocks.
#include "control/config/keepalived_loader.h"

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

bool Loader::build_tree(std::string_view text, Node& root) {
  std::vector<Node*> path{&root};
  unsigned line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    std::vector<Token> toks;
    std::string err = lex_line(line, toks);
    if (!err.empty()) return fail(line_no, err);
    if (!toks.empty() && toks[0].kind == Token::Kind::Word && toks[0].text[0] == '@') {
      const std::string& w = toks[0].text;
      // keepalived's conditional configuration (parser.c): "@ID line" is read only by the
      // keepalived whose --config-id is ID, "@^ID line" by every other. fastvsd reads the file
      // as the config id "fastvsd": so a line only fastvsd must act on (lvs_sync_daemon, which
      // stock keepalived would hand to a kernel IPVS) is written "@fastvsd ...".
      const bool negated = w.size() > 1 && w[1] == '^';
      const std::string_view id = std::string_view(w).substr(negated ? 2 : 1);
      if (id.empty()) return fail(line_no, "conditional configuration: '" + w + "' names no id");
      if ((id == kKeepalivedConfigId) == negated || toks.size() < 2) continue;  // not ours
      toks.erase(toks.begin());
    }
    if (!toks.empty() && toks[0].kind == Token::Kind::Word && !toks[0].text.empty()) {
      const std::string& w = toks[0].text;
      if (w[0] == '$') {
        return fail(line_no, "parameters (" + w + ") are not supported");
      }
      if (w.rfind("~SEQ", 0) == 0 || w.rfind("~LST", 0) == 0) {
        return fail(line_no, "sequence and list blocks (~SEQ, ~LST) are not supported");
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
  if (path.size() > 1) {
    const Node& open = *path.back();
    return fail(open.line, "the '{' of " + quoted(open.key) + " is never closed");
  }
  return true;
}

}  // namespace fastvs::ka
