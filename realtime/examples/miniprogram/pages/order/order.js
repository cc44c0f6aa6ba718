// pages/order/order.js: the order status page. While it is shown it follows its order's topic and the
// table's room; when it hides (the user opens another page) it lets go of both. The connection stays:
// the next page subscribes on the same socket.
const rt = require('../../utils/realtime');

Page(
  rt.page({
    data: { orderId: '', table: '', status: 'waiting', calls: [] },

    onLoad(query) {
      this.setData({ orderId: query.id, table: query.table });
    },

    // realtime returns what this page holds while shown (rt.page releases it on hide and unload).
    realtime() {
      return [
        rt.subscribe('order:' + this.data.orderId, (event, data) => {
          if (event === 'order.status') this.setData({ status: data.status });
        }),
        rt.join('table:' + this.data.table, (event, data) => {
          if (event === 'table.call') this.setData({ calls: this.data.calls.concat([data.text]) });
        }),
      ];
    },
  })
);
