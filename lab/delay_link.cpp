#include "lab/delay_link.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace pgdr::lab {

namespace {

using Clock = std::chrono::steady_clock;

// A raw socket on one interface: every frame arriving there, none of those we send.
int open_raw(const std::string& name) {
    const unsigned index = ::if_nametoindex(name.c_str());
    if (index == 0) {
        throw std::runtime_error("no interface " + name);
    }
    int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) {
        throw std::runtime_error("raw socket: " + std::string(std::strerror(errno)));
    }
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(index);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("bind to " + name + ": " + std::strerror(errno));
    }
    int one = 1;
    ::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    // Each frame comes with, and goes out with, a virtio-net header: its checksum and
    // segmentation offload state travels with it (frames from the hosts' veths carry
    // unfinished checksums and 64 KiB GSO segments that a plain send would corrupt or refuse).
    if (::setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0) {
        ::close(fd);
        throw std::runtime_error("PACKET_VNET_HDR on " + name + ": " + std::strerror(errno));
    }
    packet_mreq mreq{};
    mreq.mr_ifindex = static_cast<int>(index);
    mreq.mr_type = PACKET_MR_PROMISC;
    ::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq);
    return fd;
}

struct Frame {
    Clock::time_point due;
    std::vector<unsigned char> bytes;
};

// One direction: a reader that stamps frames and a writer that sends each when it is due.
void relay(int from, int to, std::chrono::milliseconds delay) {
    std::mutex m;
    std::condition_variable cv;
    std::deque<Frame> queue;
    bool done = false;
    std::thread writer([&] {
        std::unique_lock lock(m);
        while (!done || !queue.empty()) {
            if (queue.empty()) {
                cv.wait(lock);
                continue;
            }
            if (Clock::now() < queue.front().due) {
                cv.wait_until(lock, queue.front().due);
                continue;
            }
            Frame f = std::move(queue.front());
            queue.pop_front();
            lock.unlock();
            (void)!::send(to, f.bytes.data(), f.bytes.size(), 0);
            lock.lock();
        }
    });
    std::vector<unsigned char> buf(70000);  // a 64 KiB GSO frame and its header
    while (true) {
        const ssize_t n = ::recv(from, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;  // the interface went away
        }
        std::lock_guard lock(m);
        if (queue.size() < 10000) {  // a bounded queue: beyond it frames drop, as on a link
            queue.push_back({Clock::now() + delay, {buf.begin(), buf.begin() + n}});
            cv.notify_one();
        }
    }
    {
        std::lock_guard lock(m);
        done = true;
        cv.notify_one();
    }
    writer.join();
}

}  // namespace

void run_delay_link(const std::string& a, const std::string& b, std::chrono::milliseconds delay) {
    const int fa = open_raw(a);
    const int fb = open_raw(b);
    std::thread back([&] { relay(fb, fa, delay); });
    relay(fa, fb, delay);
    ::shutdown(fb, SHUT_RDWR);
    back.join();
    ::close(fa);
    ::close(fb);
}

}  // namespace pgdr::lab
