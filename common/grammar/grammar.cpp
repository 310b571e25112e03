// parse_command: which grammar a command line belongs to (ipvsadm's, `ip`'s, `--check`'s), the
// words of a line, how commands are named, and fastvsadm --help assembled from the grammars'
// tables.
#include "common/grammar/grammars.h"
#include "common/text.h"

namespace fastvs {

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i >= line.size() || line[i] == '#') break;
    const size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    words.emplace_back(line.substr(start, i - start));
  }
  return words;
}

Result<Command> parse_command(const std::vector<std::string>& words) {
  if (words.empty()) {
    // ipvsadm with no arguments lists the table.
    Command cmd;
    cmd.op = Op::List;
    return cmd;
  }
  if (words[0] == "ip") return grammar::parse_ip(words);
  if (words[0] == "--check") return grammar::parse_check(words);
  if (words[0] == "iptables" || words[0] == "ip6tables") return grammar::parse_iptables(words);
  if (words[0] == "--keepalived-reload") {
    if (words.size() > 2) return Error{"usage: --keepalived-reload [FILE]"};
    Command cmd;
    cmd.op = Op::KeepalivedReload;
    if (words.size() == 2) {
      if (words[1].empty()) return Error{"--keepalived-reload: empty file name"};
      cmd.path = words[1];
    }
    return cmd;
  }
  return grammar::parse_ipvsadm(words);
}

std::string command_name(Op op) {
  switch (op) {
    case Op::AddrAdd:
      return "ip addr add";
    case Op::AddrDel:
      return "ip addr del";
    case Op::AddrShow:
      return "ip addr show";
    case Op::RouteAdd:
      return "ip route add";
    case Op::RouteDel:
      return "ip route del";
    case Op::RouteShow:
      return "ip route show";
    case Op::NeighAdd:
      return "ip neigh add";
    case Op::NeighDel:
      return "ip neigh del";
    case Op::NeighShow:
      return "ip neigh show";
    case Op::LinkShow:
      return "ip link show";
    case Op::CheckAdd:
      return "--check add";
    case Op::CheckDel:
      return "--check del";
    case Op::CheckPool:
      return "--check pool";
    case Op::CheckList:
      return "--check list";
    case Op::KeepalivedReload:
      return "--keepalived-reload";
    case Op::MarkAdd:
      return "iptables -A";
    case Op::MarkDel:
      return "iptables -D";
    case Op::MarkCheck:
      return "iptables -C";
    case Op::MarkList:
      return "iptables -L";
    case Op::MarkSave:
      return "iptables -S";
    case Op::MarkFlush:
      return "iptables -F";
    default:
      return grammar::ipvsadm_command_name(op);
  }
}

bool changes_config(Op op) {
  switch (op) {
    case Op::List:
    case Op::Save:
    case Op::Zero:
    case Op::AddrShow:
    case Op::RouteShow:
    case Op::NeighShow:
    case Op::LinkShow:
    case Op::CheckList:
    case Op::MarkList:
    case Op::MarkSave:
    case Op::MarkCheck:
      return false;
    default:
      return true;
  }
}

bool is_service_op(Op op) {
  switch (op) {
    case Op::AddService:
    case Op::EditService:
    case Op::DelService:
    case Op::AddDest:
    case Op::EditDest:
    case Op::DelDest:
      return true;
    default:
      return false;
  }
}

std::string fastvsadm_help() {
  return "usage: fastvsadm [--socket PATH] COMMAND [OPTIONS]\n"
         "\n"
         "fastvsadm configures fastvsd, the LVS director on DPDK, with ipvsadm's command line.\n"
         "Every change is answered once every worker has it in force; an error names the\n"
         "problem in one line and changes nothing.\n"
         "\n" +
         grammar::ipvsadm_help() + "\n" + grammar::ip_help() + "\n" + grammar::iptables_help() +
         "\n" + grammar::check_help() +
         "\n"
         "keepalived.conf:\n"
         "  --keepalived-reload [FILE]    read FILE (default: the one fastvsd loaded last)\n"
         "                                again: its virtual servers replace the last load's,\n"
         "                                all or nothing (a relative FILE is fastvsadm's)\n"
         "\n"
         "A removed real server's connections are not cut: their clients' packets are dropped\n"
         "(IPVS's expire_nodest_conn=0) until the server is added back or they time out; to\n"
         "drain a server, set its weight to 0 first and remove it when its connections are gone.\n"
         "The socket: --socket PATH, else $FASTVS_SOCKET, else /run/fastvs/fastvsd.sock.\n"
         "-h, --help: this text; -v, --version: fastvsadm's version. See fastvsadm(8).\n";
}

}  // namespace fastvs
