// The CLI wire format (common/cli_proto.h): requests and replies round trip, what is not a
// request is refused, and the server's reader refuses a stray client's first bytes at once, never
// a real request's, whatever pieces it arrives in.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "common/cli_proto.h"

namespace fastvs {
namespace {

using State = CliRequestReader::State;

CliRequest sample() {
  CliRequest r;
  r.deadline_ms = 1765000000123;
  r.words = {"-A", "-t", "10.0.0.1:80", "-s", "rr"};
  r.input = "-A -t 10.0.0.2:80 -s wrr\n";
  return r;
}

TEST(CliProto, RequestsAndRepliesRoundTrip) {
  const std::string raw = cli_encode_request(sample());
  EXPECT_EQ(raw.substr(0, 19), "FVS1 1765000000123\n");
  const auto back = cli_decode_request(raw);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->words, sample().words);
  EXPECT_EQ(back->input, sample().input);
  EXPECT_EQ(back->deadline_ms, sample().deadline_ms);
  EXPECT_EQ(cli_encode_reply(CliReply{false, "no such service"}), "error\nno such service\n");
  const auto reply = cli_decode_reply("ok\nIP Virtual Server\n");
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->ok);
  EXPECT_EQ(reply->text, "IP Virtual Server\n");
}

TEST(CliProto, WhatIsNotARequestIsRefused) {
  for (const std::string& bad :
       {std::string(""), std::string("FVS1 "), std::string("FVS1 \n"), std::string("FVS1 12"),
        std::string("FVS1 012\n-L\0\0", 12), std::string("FVS2 0\n\0", 8),
        std::string("FVS1 0\n-L\0", 10), std::string("FVS1 1x\n\0", 9),
        std::string("FVS1 12345678901234567890\n\0", 27)})
    EXPECT_FALSE(cli_decode_request(bad)) << bad;
}

TEST(CliRequestReader, AStrayClientIsToldAtItsFirstWrongByte) {
  for (const std::string_view stray : {"GET / HTTP/1.1\r\n", "FVS2", "FVS1 x", "FVS1 \n", "FVS1 01",
                                       "FVS1 12345678901234567890"}) {
    CliRequestReader r;
    EXPECT_EQ(r.feed(stray.data(), stray.size()), State::Malformed) << stray;
  }
  // A prefix of a real request is never judged wrong.
  const std::string raw = cli_encode_request(sample());
  for (size_t n = 0; n <= raw.size(); ++n) {
    CliRequestReader r;
    EXPECT_EQ(r.feed(raw.data(), n), State::More) << n;
  }
}

TEST(CliRequestReader, PiecesOfAnySizeMakeTheWholeRequest) {
  const std::string raw = cli_encode_request(sample());
  for (size_t piece = 1; piece <= raw.size(); ++piece) {
    CliRequestReader r;
    for (size_t off = 0; off < raw.size(); off += piece)
      ASSERT_EQ(r.feed(raw.data() + off, std::min(piece, raw.size() - off)), State::More);
    const auto req = r.finish();
    ASSERT_TRUE(req) << piece;
    EXPECT_EQ(req->words, sample().words);
    EXPECT_EQ(req->input, sample().input);
  }
}

TEST(CliRequestReader, TooLargeIsRefusedWithoutHoldingIt) {
  CliRequestReader r;
  const std::string head = "FVS1 0\n";
  ASSERT_EQ(r.feed(head.data(), head.size()), State::More);
  const std::string mib(1u << 20, 'x');
  State st = State::More;
  for (size_t i = 0; i < kCliMaxRequest / mib.size() + 1 && st == State::More; ++i)
    st = r.feed(mib.data(), mib.size());
  EXPECT_EQ(st, State::TooLarge);
  EXPECT_LE(r.size(), kCliMaxRequest);
  r.release();
  EXPECT_EQ(r.size(), 0u);
}

}  // namespace
}  // namespace fastvs
